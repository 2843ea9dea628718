"""``capabilities`` (``embeddings``: a node started with --embeddings) in signed records: they round-trip,
are signed, and a record without any is byte for byte what nodes without the field wrote and read."""

import json

import pytest
from pydantic import ValidationError

from llamanet.swarm.validation import RecordLimits, parse_record
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import EMBEDDINGS, NodeRecord, RecordFields, build_record

from .conftest import NOW

LIMITS = RecordLimits(max_ttl_s=60.0, clock_skew_s=5.0, max_models=4, max_urls=2)


def signed(identity: NodeIdentity, capabilities: list[str]) -> NodeRecord:
    fields = RecordFields(urls=["http://10.0.0.1:8000"], models=["m"], capabilities=capabilities)
    return build_record(fields, identity, dht_host="10.0.0.1", dht_port=8468, seq=1, expires_at=NOW + 30)


def test_an_embeddings_record_round_trips_and_its_capabilities_are_signed(identity: NodeIdentity) -> None:
    record = signed(identity, [EMBEDDINGS])
    parsed = parse_record(record.to_json(), now=NOW, limits=LIMITS)
    assert parsed == record and parsed.capabilities == ["embeddings"]
    data = json.loads(record.to_json())
    data["capabilities"] = []
    with pytest.raises(Exception, match="signature"):
        parse_record(json.dumps(data), now=NOW, limits=LIMITS)


def test_a_record_without_capabilities_is_what_older_nodes_write_and_read(identity: NodeIdentity) -> None:
    record = signed(identity, [])
    data = json.loads(record.to_json())
    assert "capabilities" not in data  # an older node (extra="forbid") parses it
    assert b"capabilities" not in record.canonical_bytes()  # and its signature checks there
    parsed = parse_record(record.to_json(), now=NOW, limits=LIMITS)  # a record an older node wrote
    assert parsed.capabilities == []


@pytest.mark.parametrize("bad", [["Embeddings"], ["x" * 40], ["a"] * 17, [""]])
def test_capabilities_are_short_names(bad: list[str]) -> None:
    with pytest.raises(ValidationError):
        RecordFields(capabilities=bad)
