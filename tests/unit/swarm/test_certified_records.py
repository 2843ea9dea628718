"""Records under a swarm authority (``RecordLimits.authorities``): storing peers and readers take only
records whose certificate chain verifies against the configured roots and covers their models and site;
without an authority nothing changes, and a record without a chain reads as it did before the field."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from llamanet.swarm.errors import UncertifiedRecordError
from llamanet.swarm.keys import ALL_NODES_KEY
from llamanet.swarm.lookup import records_from_entries
from llamanet.swarm.storage import EntryStore
from llamanet.swarm.validation import RecordLimits, certified_until, parse_record
from llamanet_common.certs import issue_certificate
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import NodeRecord, RecordFields, build_record

from .conftest import NOW

ROOT, SITE = NodeIdentity.generate(), NodeIdentity.generate()
AUTH = RecordLimits(max_ttl_s=60.0, clock_skew_s=5.0, authorities=frozenset({ROOT.public_key_hex}))
OPEN = RecordLimits(max_ttl_s=60.0, clock_skew_s=5.0)
DAY = 86_400


def chain(
    node: NodeIdentity, *, issuer: NodeIdentity = ROOT, end: float = NOW + DAY, **kw: Any
) -> list[dict[str, Any]]:
    leaf = issue_certificate(
        issuer, subject=node.public_key_hex, not_before=int(NOW - 60), not_after=int(end), **kw
    )
    return [leaf]


def record(
    node: NodeIdentity,
    cert: list[dict[str, Any]] | None,
    *,
    models: tuple[str, ...] = ("smollm2-135m",),
    site: str | None = "site-a",
    urls: tuple[str, ...] = ("http://10.0.0.1:8000",),
    now: float = NOW,
) -> NodeRecord:
    fields = RecordFields(urls=list(urls), models=list(models), site=site, slots_total=4, cert=cert)
    return build_record(fields, node, dht_host="10.0.0.1", dht_port=8001, seq=1, expires_at=now + 30)


def test_a_certified_record_is_taken_and_the_same_record_without_an_authority_too() -> None:
    node = NodeIdentity.generate()
    raw = record(node, chain(node, models=["smollm2-135m"], sites=["site-a"])).to_json()
    assert parse_record(raw, now=NOW, limits=AUTH).cert is not None
    assert parse_record(raw, now=NOW, limits=OPEN).node_id == node.node_id


@pytest.mark.parametrize(
    ("why", "make"),
    [
        ("no membership certificate", lambda n: record(n, None)),
        ("not a trusted", lambda n: record(n, chain(n, issuer=NodeIdentity.generate()))),  # a forger's root
        ("another key", lambda n: record(n, chain(NodeIdentity.generate()))),  # someone else's certificate
        ("expired", lambda n: record(n, chain(n, end=NOW - 10))),
        (
            "model 'gemma3-270m' is outside",
            lambda n: record(n, chain(n, models=["smollm2-135m"]), models=("smollm2-135m", "gemma3-270m")),
        ),
        ("site 'site-b' is outside", lambda n: record(n, chain(n, sites=["site-a"]), site="site-b")),
    ],
)
def test_storing_peers_and_readers_refuse_records_the_authority_does_not_cover(why: str, make: Any) -> None:
    node = NodeIdentity.generate()
    raw = make(node).to_json()
    with pytest.raises(UncertifiedRecordError, match=why):
        parse_record(raw, now=NOW, limits=AUTH)
    store = EntryStore(AUTH, clock=lambda: NOW)
    with pytest.raises(UncertifiedRecordError):
        store.put(ALL_NODES_KEY, raw)
    assert records_from_entries(ALL_NODES_KEY, [raw], now=NOW, limits=AUTH) == []
    if why != "expired":  # without an authority the chain is not looked at
        assert len(records_from_entries(ALL_NODES_KEY, [raw], now=NOW, limits=OPEN)) == 1


def test_a_certificate_that_expires_makes_a_live_record_invisible_to_readers() -> None:
    node = NodeIdentity.generate()
    raw = record(node, chain(node, end=NOW + 10)).to_json()
    assert len(records_from_entries(ALL_NODES_KEY, [raw], now=NOW, limits=AUTH)) == 1
    # the record itself lives until NOW + 30; its certificate (plus the 5 s skew) ends at NOW + 15
    assert records_from_entries(ALL_NODES_KEY, [raw], now=NOW + 16, limits=AUTH) == []
    assert certified_until(parse_record(raw, now=NOW, limits=AUTH)) == NOW + 10


def test_the_chain_is_signed_as_part_of_the_record() -> None:
    node = NodeIdentity.generate()
    data = json.loads(record(node, chain(node, sites=["site-a"])).to_json())
    data["cert"] = chain(node)  # a valid chain, but not the one the node signed
    with pytest.raises(Exception, match="signature"):
        parse_record(json.dumps(data), now=NOW, limits=OPEN)


def test_a_record_without_a_chain_reads_as_before_the_field_existed() -> None:
    node = NodeIdentity.generate()
    plain = record(node, None)
    assert "cert" not in json.loads(plain.to_json())
    assert b'"cert"' not in plain.canonical_bytes()  # old readers verify the same bytes


def test_a_two_certificate_chain_fits_the_record_limit_with_urls_and_models() -> None:
    now = time.time()
    node = NodeIdentity.generate()
    models = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b-instruct"]
    delegation = issue_certificate(
        ROOT, subject=SITE.public_key_hex, role="authority", models=models, sites=["site-a"],
        not_before=int(now), not_after=int(now + 30 * DAY),
    )  # fmt: skip
    leaf = issue_certificate(
        SITE, subject=node.public_key_hex, models=models, sites=["site-a"],
        not_before=int(now), not_after=int(now + DAY),
    )  # fmt: skip
    fields = RecordFields(
        urls=["http://llamanet-a-0.site-a.example.org:8000", "https://10.20.30.40:8443", "http://[fd00::1]:8000"],
        models=models, context_size=8192, queue_depth=12, active_requests=8, slots_total=8, slots_free=0,
        tokens_per_s=1234.56789, uptime_s=123456.789, version="0.10.0", gpu_layers=-1, site="site-a",
        name="llamanet-site-a-gpu-node-0", cert=[leaf, delegation],
    )  # fmt: skip
    raw = build_record(
        fields, node, dht_host="llamanet-a-0.site-a.example.org", dht_port=30001,
        seq=int(now * 1000), expires_at=now + 30,
    ).to_json()  # fmt: skip
    print(f"record with a 2-certificate chain: {len(raw)} bytes")
    assert len(raw) <= RecordLimits().max_record_bytes == 2048
    assert parse_record(raw, now=now, limits=AUTH).site == "site-a"
