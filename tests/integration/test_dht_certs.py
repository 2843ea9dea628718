"""A swarm authority over real UDP on 127.0.0.1: in-process SwarmNodes whose readers and storing peers
trust one root. Certified nodes (by the root, or by a site authority it delegated to) are listed; a
forger's records (a certificate from its own "authority"), uncertified records and records claiming a
model outside their certificate are neither stored by those peers nor listed; a node whose certificate
expires drops out within a heartbeat, while its record would still be live. A node without an authority
lists everyone, as before."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.validation import RecordLimits
from llamanet_common.certs import issue_certificate
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields
from tests.integration.test_dht_swarm import ids
from tests.swarmrecords import eventually

pytestmark = pytest.mark.timeout(90)
HOST = "127.0.0.1"
ROOT, SITE_AUTHORITY, FORGER_ROOT = NodeIdentity.generate(), NodeIdentity.generate(), NodeIdentity.generate()
HEARTBEAT = 0.5
SKEW = 1.0


def config(authority: bool) -> SwarmConfig:
    roots = frozenset({ROOT.public_key_hex}) if authority else frozenset()
    return SwarmConfig(
        heartbeat_interval_s=HEARTBEAT,
        limits=RecordLimits(max_ttl_s=10.0, clock_skew_s=SKEW, authorities=roots),
        rpc_timeout_s=0.5,
        backoff_initial_s=0.2,
        backoff_cap_s=1.0,
    )


def cert(issuer: NodeIdentity, subject: NodeIdentity, *, seconds: float = 3600, **kw: Any) -> dict[str, Any]:
    now = int(time.time())
    return issue_certificate(
        issuer, subject=subject.public_key_hex, not_before=now - 5, not_after=int(now + seconds), **kw
    )


class Member:
    """A SwarmNode publishing a record with ``chain``, read each heartbeat (as ``--swarm-cert-file`` is)."""

    def __init__(self, chain: Callable[[NodeIdentity], list[dict[str, Any]] | None], authority: bool) -> None:
        identity = NodeIdentity.generate()
        self.chain = chain(identity)
        self.models = ["tiny"]
        self.node = SwarmNode(identity, config(authority), record_factory=self.fields)

    def fields(self) -> RecordFields:
        return RecordFields(
            urls=["http://127.0.0.1:8000"], models=self.models, site="site-a", cert=self.chain
        )

    @property
    def node_id(self) -> str:
        return self.node.node_id


async def member(
    bootstrap: str, chain: Callable[[NodeIdentity], list[dict[str, Any]] | None], *, authority: bool = False
) -> Member:
    m = Member(chain, authority)
    await m.node.start(HOST, 0, [bootstrap])
    return m


@pytest.fixture
async def swarm() -> AsyncIterator[dict[str, Member]]:
    seed = SwarmNode(NodeIdentity.generate(), config(authority=True))
    await seed.start(HOST, 0)
    boot = f"{HOST}:{seed.dht_port}"
    delegation = cert(ROOT, SITE_AUTHORITY, role="authority", models=["tiny"], sites=["site-a"])
    members = {
        "reader": await member(boot, lambda i: None, authority=True),  # trusts ROOT, publishes nothing
        "open": await member(boot, lambda i: None),  # no authority: a node of today
        "root-signed": await member(boot, lambda i: [cert(ROOT, i)], authority=True),
        "site-signed": await member(
            boot, lambda i: [cert(SITE_AUTHORITY, i, models=["tiny"], sites=["site-a"]), delegation]
        ),
        "forger": await member(boot, lambda i: [cert(FORGER_ROOT, i)]),
        "uncertified": await member(boot, lambda i: None),
        "wrong-model": await member(boot, lambda i: [cert(ROOT, i, models=["other"])]),
        "site-widened": await member(  # the site authority certifies a model it was not delegated
            boot, lambda i: [cert(SITE_AUTHORITY, i, models=["tiny", "big"], sites=["site-a"]), delegation]
        ),
    }
    yield members
    await asyncio.gather(*(m.node.stop(withdraw=False) for m in members.values()), seed.stop(withdraw=False))


async def test_only_certified_nodes_are_listed_by_a_node_with_an_authority(swarm: dict[str, Member]) -> None:
    certified = {swarm["root-signed"].node_id, swarm["site-signed"].node_id}
    everyone = {m.node_id for name, m in swarm.items() if name != "reader"}
    reader, open_node = swarm["reader"].node, swarm["open"].node

    async def settled() -> bool:  # the open node sees every record: they all reached the DHT
        return ids(await open_node.get_nodes()) >= everyone - {swarm["open"].node_id}

    await eventually(settled)
    await eventually(lambda: _lists(reader, certified))
    for _ in range(3):  # and it stays that way over several heartbeats
        assert ids(await reader.get_nodes()) == certified
        assert ids(await reader.get_nodes("tiny")) == certified
        await asyncio.sleep(HEARTBEAT)
    # storing peers with an authority refused the others' entries outright
    refusing = [swarm["reader"].node, swarm["root-signed"].node]
    assert sum(n.server.swarm_protocol.rejected_stores for n in refusing) > 0
    for n in refusing:
        held = {e["node_id"] for entries in n.server.entries.snapshot().values() for e in entries}
        assert held <= certified, "an authority node stored an uncertified record"


async def _lists(node: SwarmNode, expected: set[str]) -> bool:
    return ids(await node.get_nodes()) == expected


async def test_an_expired_certificate_drops_its_node_within_a_heartbeat(swarm: dict[str, Member]) -> None:
    reader = swarm["reader"].node
    expiring = await member(f"{HOST}:{reader.dht_port}", lambda i: [cert(ROOT, i, seconds=4)])
    try:
        end = expiring.chain[0]["not_after"] if expiring.chain else 0
        await eventually(lambda: _sees(reader, expiring.node_id))
        assert time.time() < end - 1, "listed while its certificate is valid"

        async def gone() -> bool:
            return not await _sees(reader, expiring.node_id)

        await eventually(gone, timeout=end + SKEW + HEARTBEAT + 3 - time.time())
        assert time.time() >= end + SKEW - 0.5  # not before the certificate ended (with the skew)
        assert await _sees(swarm["open"].node, expiring.node_id), "its record itself is still live"
        # a renewed certificate, picked up at its next heartbeat, brings it back
        expiring.chain = [cert(ROOT, expiring.node.identity)]
        await eventually(lambda: _sees(reader, expiring.node_id))
    finally:
        await expiring.node.stop(withdraw=False)


async def _sees(node: SwarmNode, node_id: str) -> bool:
    return node_id in ids(await node.get_nodes())
