from llamanet.swarm.wire import MAX_DATAGRAM_BYTES, decode_frame, encode_frame


def test_plain_frame_round_trip_with_client_flag() -> None:
    frame = decode_frame(encode_frame(b"payload", secret=None, client=True), secret=None)
    assert frame is not None
    assert frame.payload == b"payload"
    assert frame.from_client


def test_hmac_frame_round_trip() -> None:
    frame = decode_frame(encode_frame(b"payload", secret=b"s3cret", client=False), secret=b"s3cret")
    assert frame is not None
    assert (frame.payload, frame.from_client) == (b"payload", False)


def test_wrong_or_missing_secret_is_dropped() -> None:
    signed = encode_frame(b"payload", secret=b"s3cret", client=False)
    assert decode_frame(signed, secret=b"other") is None
    assert decode_frame(signed, secret=None) is None
    assert decode_frame(encode_frame(b"payload", secret=None, client=False), secret=b"s3cret") is None


def test_tampered_payload_or_flags_are_dropped() -> None:
    signed = bytearray(encode_frame(b"payload", secret=b"s3cret", client=False))
    signed[-1] ^= 1
    assert decode_frame(bytes(signed), secret=b"s3cret") is None
    flagged = bytearray(encode_frame(b"payload", secret=b"s3cret", client=False))
    flagged[1] |= 0x01
    assert decode_frame(bytes(flagged), secret=b"s3cret") is None


def test_oversized_and_foreign_datagrams_are_dropped() -> None:
    big = encode_frame(b"x" * MAX_DATAGRAM_BYTES, secret=None, client=False)
    assert decode_frame(big, secret=None) is None
    assert decode_frame(b"\x00" + b"x" * 40, secret=None) is None
    assert decode_frame(b"", secret=None) is None
