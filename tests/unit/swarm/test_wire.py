import struct

import pytest

from llamanet.swarm.wire import (
    MAGIC_V1,
    MAX_DATAGRAM_BYTES,
    Contact,
    decode_frame,
    encode_frame,
    is_v1_frame,
)

HERE = Contact("10.0.0.7", 30001)


def test_plain_frame_round_trip_with_client_flag_and_contact() -> None:
    frame = decode_frame(encode_frame(b"payload", secret=None, client=True, contact=HERE), secret=None)
    assert frame is not None
    assert frame.payload == b"payload"
    assert frame.from_client
    assert (frame.contact, frame.version) == (HERE, 2)
    assert len(frame.nonce) == 8 and frame.timestamp_ms > 0


def test_hmac_frame_round_trip() -> None:
    signed = encode_frame(b"payload", secret=b"s3cret", client=False, contact=Contact("", 8001))
    frame = decode_frame(signed, secret=b"s3cret")
    assert frame is not None
    assert (frame.payload, frame.from_client, frame.contact) == (b"payload", False, Contact("", 8001))


def test_wrong_or_missing_secret_is_dropped() -> None:
    signed = encode_frame(b"payload", secret=b"s3cret", client=False, contact=HERE)
    assert decode_frame(signed, secret=b"other") is None
    assert decode_frame(signed, secret=None) is None
    plain = encode_frame(b"payload", secret=None, client=False, contact=HERE)
    assert decode_frame(plain, secret=b"s3cret") is None


def test_tampered_payload_flags_or_contact_are_dropped() -> None:
    signed = encode_frame(b"payload", secret=b"s3cret", client=False, contact=HERE)
    for index in (-1, 2, 20 + len(HERE.host)):  # payload, flags, the advertised port's last byte
        tampered = bytearray(signed)
        tampered[index] ^= 1
        assert decode_frame(bytes(tampered), secret=b"s3cret") is None
    rehosted = signed.replace(b"10.0.0.7", b"10.0.0.8")
    assert decode_frame(rehosted, secret=b"s3cret") is None


def test_oversized_foreign_truncated_and_v1_datagrams_are_dropped() -> None:
    big = encode_frame(b"x" * MAX_DATAGRAM_BYTES, secret=None, client=False, contact=HERE)
    assert decode_frame(big, secret=None) is None
    assert decode_frame(b"\x00" + b"x" * 40, secret=None) is None
    assert decode_frame(b"", secret=None) is None
    good = encode_frame(b"", secret=None, client=False, contact=HERE)
    for cut in range(len(good)):
        assert decode_frame(good[:cut], secret=None) is None
    v1 = bytes((MAGIC_V1, 0)) + b"x" * 40
    assert is_v1_frame(v1) and decode_frame(v1, secret=None) is None
    assert not is_v1_frame(good)


def test_bad_version_unknown_flags_long_or_non_ascii_host_are_dropped() -> None:
    good = encode_frame(b"p", secret=None, client=False, contact=HERE)
    assert decode_frame(good[:1] + b"\x03" + good[2:], secret=None) is None
    assert decode_frame(good[:2] + b"\x80" + good[3:], secret=None) is None
    header = good[:19]
    long_host = header + bytes((65,)) + b"1" * 65 + struct.pack(">H", 1) + b"p"
    assert decode_frame(long_host, secret=None) is None
    non_ascii = header + bytes((2,)) + "é".encode() + struct.pack(">H", 1) + b"p"
    assert decode_frame(non_ascii, secret=None) is None


def test_contacts_that_do_not_fit_are_refused_when_sending() -> None:
    with pytest.raises(ValueError):
        encode_frame(b"p", secret=None, client=False, contact=Contact("1" * 65, 1))
    with pytest.raises(ValueError):
        encode_frame(b"p", secret=None, client=False, contact=Contact("1.2.3.4", 70000))
