"""``CertifiedPeers``: forwarded work is taken from senders whose record carries a valid certificate now
(found in the cached directory answer or fetched fresh), and refused, with a bounded memory of refusals,
from everyone else; the directory drops a cached record once its certificate expires."""

from __future__ import annotations

from typing import Any

from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.members import CertifiedPeers
from llamanet_common.certs import issue_certificate
from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import sign_forward
from llamanet_common.record import NodeRecord, RecordFields, build_record

NOW = 1_800_000_000.0
ROOT = NodeIdentity.generate()
ROOTS = frozenset({ROOT.public_key_hex})


def certified(node: NodeIdentity, *, issuer: NodeIdentity = ROOT, end: float = NOW + 100) -> NodeRecord:
    cert = issue_certificate(
        issuer, subject=node.public_key_hex, not_before=int(NOW - 10), not_after=int(end)
    )
    fields = RecordFields(urls=["http://10.0.0.1:8000"], models=["m"], cert=[cert])
    return build_record(fields, node, dht_host="10.0.0.1", dht_port=1, seq=1, expires_at=NOW + 30)


def proof_by(node: NodeIdentity) -> Any:
    return sign_forward(node, method="GET", path="/status", body=b"", target_id="0" * 40, hops=0, now_s=NOW)


class Swarm:
    def __init__(self, cached: list[NodeRecord], fetchable: list[NodeRecord]) -> None:
        self.cached, self.fetchable, self.fetches = cached, fetchable, 0

    async def records(self) -> list[NodeRecord]:
        return self.cached

    async def fetch(self, node_id: str) -> NodeRecord | None:
        self.fetches += 1
        return next((r for r in self.fetchable if r.node_id == node_id), None)


def peers(swarm: Swarm, now: list[float]) -> CertifiedPeers:
    return CertifiedPeers(
        ROOTS, swarm.records, swarm.fetch, clock_skew_s=5, negative_s=2, clock=lambda: now[0]
    )


async def test_a_certified_sender_is_admitted_from_the_cache_or_a_fresh_lookup() -> None:
    a, b = NodeIdentity.generate(), NodeIdentity.generate()
    swarm = Swarm([certified(a)], [certified(b)])
    members = peers(swarm, [NOW])
    assert await members.admit(proof_by(a)) is None and swarm.fetches == 0
    assert await members.admit(proof_by(b)) is None and swarm.fetches == 1  # not cached yet: looked up


async def test_uncertified_forged_and_expired_senders_are_refused() -> None:
    forger, unknown, expiring = NodeIdentity.generate(), NodeIdentity.generate(), NodeIdentity.generate()
    forged = certified(forger, issuer=NodeIdentity.generate())  # its own "authority"
    now = [NOW]
    swarm = Swarm([forged, certified(expiring, end=NOW + 10)], [forged])
    members = peers(swarm, now)
    why = await members.admit(proof_by(forger))
    assert why is not None and "not a trusted swarm authority" in why
    why = await members.admit(proof_by(unknown))
    assert why is not None and "no record" in why
    assert await members.admit(proof_by(expiring)) is None
    now[0] = NOW + 16  # its certificate (10 s, plus 5 s of skew) ended; the cached record is still live
    why = await members.admit(proof_by(expiring))
    assert why is not None and "expired" in why


async def test_refused_senders_are_remembered_briefly_and_boundedly() -> None:
    now = [NOW]
    swarm = Swarm([], [])
    members = peers(swarm, now)
    unknown = NodeIdentity.generate()
    for _ in range(5):
        assert await members.admit(proof_by(unknown)) is not None
    assert swarm.fetches == 1  # one lookup per window, however many proofs
    now[0] += 3
    await members.admit(proof_by(unknown))
    assert swarm.fetches == 2
    members.max_negative = 3
    for _ in range(10):
        await members.admit(proof_by(NodeIdentity.generate()))
    assert len(members._refused) == 3


async def test_the_directory_drops_a_cached_record_once_its_certificate_expires() -> None:
    node = NodeIdentity.generate()
    rec = certified(node, end=NOW + 10)
    wall = [NOW]

    async def lookup(model: str | None) -> list[NodeRecord]:
        return [rec]

    d = SwarmDirectory(lookup, "f" * 40, fresh_s=100, stale_s=100, cert_skew_s=5, wall_clock=lambda: wall[0])
    assert [r.node_id for r in await d.records()] == [node.node_id]
    assert [r.node_id for r in await d.records("m")] == [node.node_id]
    wall[0] = NOW + 16
    assert await d.records() == [] and await d.records("m") == []
    plain = SwarmDirectory(lookup, "f" * 40, fresh_s=100, wall_clock=lambda: wall[0])  # no authority
    assert len(await plain.records()) == 1
