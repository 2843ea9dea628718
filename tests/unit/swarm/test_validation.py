import json

import pytest

from llamanet.swarm.errors import ExpiredRecordError, InvalidRecordError, KeyMismatchError
from llamanet.swarm.keys import ALL_NODES_KEY, check_key_fits, model_key, node_key, record_keys
from llamanet.swarm.validation import RecordLimits, parse_record
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import NodeRecord, sign_record

from .conftest import NOW, make_record

LIMITS = RecordLimits(max_ttl_s=60.0, clock_skew_s=5.0, max_models=4, max_urls=2)


def test_valid_record_round_trips(identity: NodeIdentity) -> None:
    record = make_record(identity)
    parsed = parse_record(record.to_json(), now=NOW, limits=LIMITS)
    assert parsed == record
    assert parsed.node_id == identity.node_id


def test_tampered_field_is_rejected(identity: NodeIdentity) -> None:
    data = json.loads(make_record(identity).to_json())
    data["slots_free"] = 99
    with pytest.raises(InvalidRecordError, match="signature"):
        parse_record(json.dumps(data), now=NOW, limits=LIMITS)


def test_node_id_not_matching_key_is_rejected(identity: NodeIdentity) -> None:
    other = NodeIdentity.generate()
    # Signed correctly by `other`, but claims `identity`'s node id.
    forged = make_record(other).model_copy(update={"node_id": identity.node_id})
    forged = sign_record(forged, other)
    with pytest.raises(InvalidRecordError, match="node id"):
        parse_record(forged.to_json(), now=NOW, limits=LIMITS)


def test_oversized_record_is_rejected(identity: NodeIdentity) -> None:
    record = make_record(identity, models=tuple("m" * 250 + str(i) for i in range(4)))
    assert len(record.to_json()) > 1024
    with pytest.raises(InvalidRecordError, match="bytes"):
        parse_record(record.to_json(), now=NOW, limits=RecordLimits(max_record_bytes=1024))


def test_over_long_expiry_is_rejected(identity: NodeIdentity) -> None:
    record = make_record(identity, ttl=3600)
    with pytest.raises(InvalidRecordError, match="TTL"):
        parse_record(record.to_json(), now=NOW, limits=LIMITS)


def test_expired_record_is_rejected(identity: NodeIdentity) -> None:
    record = make_record(identity, ttl=10)
    with pytest.raises(ExpiredRecordError):
        parse_record(record.to_json(), now=NOW + 11, limits=LIMITS)


def test_too_many_models_is_rejected(identity: NodeIdentity) -> None:
    record = make_record(identity, models=("a", "b", "c", "d", "e"))
    with pytest.raises(InvalidRecordError, match="models"):
        parse_record(record.to_json(), now=NOW, limits=LIMITS)


def test_garbage_and_extra_fields_are_rejected(identity: NodeIdentity) -> None:
    with pytest.raises(InvalidRecordError):
        parse_record("{not json", now=NOW, limits=LIMITS)
    data = json.loads(make_record(identity).to_json())
    data["evil"] = 1
    with pytest.raises(InvalidRecordError):
        parse_record(json.dumps(data), now=NOW, limits=LIMITS)


def test_keys_a_record_may_live_under(identity: NodeIdentity) -> None:
    record = make_record(identity, models=("tiny",))
    assert record_keys(record) == [node_key(identity.node_id), ALL_NODES_KEY, model_key("tiny")]
    for key in record_keys(record):
        check_key_fits(key, record)
    for bad in (node_key(NodeIdentity.generate().node_id), model_key("other"), "random"):
        with pytest.raises(KeyMismatchError):
            check_key_fits(bad, record)
    tombstone: NodeRecord = make_record(identity, withdrawn=True)
    check_key_fits(model_key("other"), tombstone)


def test_a_record_of_another_format_is_named_not_guessed() -> None:
    from llamanet.swarm.errors import RecordFormatError

    record = make_record(NodeIdentity.generate())
    assert record.format == 2 and '"format":2' in record.to_json()
    newer = json.loads(record.to_json())
    newer.update(format=3, prefix_hints=["..."])  # a later release's record, with fields we do not know
    with pytest.raises(RecordFormatError, match=f"record format 3 from node {record.node_id}"):
        parse_record(json.dumps(newer), now=NOW, limits=RecordLimits())
    older = {k: v for k, v in json.loads(record.to_json()).items() if k != "format"}
    older["cert_chain"] = None  # broken in another way too: still named as format 1
    with pytest.raises(RecordFormatError, match="record format 1"):
        parse_record(json.dumps(older), now=NOW, limits=RecordLimits())
