"""Contact ids bound to keys (issue 14 item 4), over real UDP on 127.0.0.1: real SwarmNodes against a
forging peer run as its own process (``tests.dhtforger``). A contact is filed only once it answered a
challenge with a signature by the key its id is the hash of: random ids and another node's id claimed
from one socket are never filed, nor is a peer whose signature does not hold, while honest nodes (and the
forger's own id, proved by its own key) are. With a swarm authority only certified contacts are filed,
and one whose certificate ends leaves the routing table within a heartbeat. The challenges a sender
makes a node send to the contact it names (a victim's address, perhaps) stay within 3x its request."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.transport import AMPLIFICATION
from llamanet_common.certs import issue_certificate
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields
from tests.dhtpeer import Peer, ping
from tests.integration.test_dht_certs import FORGER_ROOT, HEARTBEAT, ROOT, SKEW
from tests.integration.test_dht_certs import config as authority_config
from tests.swarmrecords import eventually

pytestmark = pytest.mark.timeout(90)
HOST = "127.0.0.1"
FORGER = [sys.executable, "-m", "tests.dhtforger"]


def table(node: SwarmNode) -> dict[str, tuple[str, int]]:
    return {p["id"]: (p["ip"], p["port"]) for p in node.status()["peers"]}


async def forge(port: int, mode: str, claims: str, wait: float = 0.5) -> tuple[int, int]:
    """Run the forger against ``port``: (pings it got answered, challenges it received)."""
    proc = await asyncio.create_subprocess_exec(
        *FORGER, str(port), mode, claims, str(wait), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    answered, challenges = out.decode().split()
    return int(answered), int(challenges)


async def started(config: SwarmConfig, bootstrap: list[str] | None = None, **kw: Any) -> SwarmNode:
    node = SwarmNode(NodeIdentity.generate(), config, **kw)
    await node.start(HOST, 0, bootstrap or [])
    return node


async def test_ids_claimed_without_their_key_are_never_filed_while_honest_nodes_are() -> None:
    config = SwarmConfig(rpc_timeout_s=0.5)
    seed = await started(config)
    boot = [f"{HOST}:{seed.dht_port}"]
    honest = await started(config, boot)
    later = SwarmNode(NodeIdentity.generate(), config)  # not in the swarm yet: the forger claims its id
    try:
        assert table(seed) == {honest.node_id: (HOST, honest.dht_port)}
        claims = f"random:20,{honest.node_id},{later.node_id}"
        answered, challenges = await forge(seed.dht_port, "honest", claims)
        assert table(seed) == {honest.node_id: (HOST, honest.dht_port)}, "no forged id was filed"
        assert answered == 22, "the forger's pings were answered"
        # each new claim was challenged (the honest node's id is filed already: its claim is ignored)
        assert challenges == 21
        assert seed.status()["refused_proofs"] == 21

        # the forger's own id, proved by its own key, is filed: the same harness would see a filing
        answered, challenges = await forge(seed.dht_port, "honest", "own")
        assert (answered, challenges) == (1, 1)
        assert len(table(seed)) == 2

        # the node whose id was claimed joins and is filed at its own address
        await later.start(HOST, 0, boot)

        async def filed() -> bool:
            return table(seed).get(later.node_id) == (HOST, later.dht_port)

        await eventually(filed, timeout=5)
        assert table(honest).get(seed.node_id) == (HOST, seed.dht_port)
    finally:
        await asyncio.gather(later.stop(), honest.stop(), seed.stop())


async def test_a_peer_whose_signature_does_not_hold_is_never_filed() -> None:
    seed = await started(SwarmConfig(rpc_timeout_s=0.5))
    try:
        answered, challenges = await forge(seed.dht_port, "bad-sig", "own,own,own")
        assert table(seed) == {}
        # challenged at the first ping, answered wrongly, then remembered as refused for a while
        assert (answered, challenges) == (3, 1)
        assert seed.status()["refused_proofs"] == 1
        answered, challenges = await forge(seed.dht_port, "silent", "own")
        assert (answered, challenges) == (1, 1)
        await asyncio.sleep(0.6)  # past the RPC timeout of the challenge
        assert table(seed) == {}
    finally:
        await seed.stop()


def member(
    issuer: NodeIdentity | None, seconds: float = 3600, authority: bool = True
) -> tuple[SwarmNode, list[dict[str, Any]] | None]:
    """A node whose records (and contact proofs) carry a certificate by ``issuer`` (None: none)."""
    identity = NodeIdentity.generate()
    now = int(time.time())
    chain = None
    if issuer is not None:
        subject = identity.public_key_hex
        chain = [issue_certificate(issuer, subject=subject, not_before=now - 5, not_after=int(now + seconds))]
    fields: Callable[[], RecordFields] = lambda: RecordFields(models=["tiny"], cert=chain)  # noqa: E731
    return SwarmNode(identity, authority_config(authority), record_factory=fields), chain


async def test_with_an_authority_only_certified_contacts_are_filed_and_an_ended_one_leaves() -> None:
    seed, _ = member(ROOT)
    await seed.start(HOST, 0)
    boot = [f"{HOST}:{seed.dht_port}"]
    certified, _ = member(ROOT)
    uncertified, _ = member(None)
    forged, _ = member(FORGER_ROOT)  # a certificate from its own "authority"
    open_node, _ = member(None, authority=False)  # a node of a swarm without an authority
    expiring, chain = member(ROOT, seconds=3)
    nodes = [certified, uncertified, forged, open_node, expiring]
    try:
        for node in nodes:
            await node.start(HOST, 0, boot)

        async def settled() -> bool:
            return set(table(seed)) == {certified.node_id, expiring.node_id}

        await eventually(settled, timeout=5)
        assert seed.status()["refused_proofs"] >= 3
        assert seed.node_id in table(certified) and seed.node_id in table(open_node)
        await asyncio.sleep(2 * HEARTBEAT)  # the refused ones keep talking to the seed: still refused
        assert set(table(seed)) == {certified.node_id, expiring.node_id}

        assert chain is not None
        end = chain[0]["not_after"] + SKEW

        async def dropped() -> bool:
            return expiring.node_id not in table(seed)

        await eventually(dropped, timeout=end + 2 * HEARTBEAT + 2 - time.time())
        assert time.time() >= end - 0.1, "not dropped before its certificate ended"
        assert time.time() <= end + HEARTBEAT + 1.0, "dropped within a heartbeat"
        assert certified.node_id in table(seed)
    finally:
        await asyncio.gather(*(n.stop(withdraw=False) for n in nodes), seed.stop(withdraw=False))


async def test_a_sender_naming_a_third_party_as_its_contact_gets_it_at_most_3x_its_request() -> None:
    # the challenge goes to the contact a frame names, which may be a victim's address (the source can
    # be spoofed too): its copies (retransmits included) stay within 3x the request that caused them
    seed = await started(SwarmConfig(rpc_timeout_s=3.0))  # room for 3 retransmits: only 2 are sent
    sender, victim = await Peer().start(), await Peer(mode="silent").start()
    try:
        padded = ping(victim.contact, NodeIdentity.generate().node_id_bytes)
        assert await sender.ask(padded, seed.dht_port) is not None
        await asyncio.sleep(3.2)
        assert victim.challenges == 3
        assert victim.received_bytes <= AMPLIFICATION * len(padded)
        small = ping(victim.contact, NodeIdentity.generate().node_id_bytes, pad_to=0)
        assert await sender.ask(small, seed.dht_port) is not None, "an unpadded ping is answered"
        await asyncio.sleep(0.5)
        assert victim.challenges == 3, "its sender is not challenged"
        assert table(seed) == {}
    finally:
        sender.close()
        victim.close()
        await seed.stop()
