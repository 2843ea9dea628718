"""A real SwarmNode on loopback against hand-made datagrams: where a sender is filed (frame v2 contact).

A peer is filed at the contact its frames advertise, once a challenge sent there is answered with a
proof of its id (``swarm.proofs``): never at a metadata or link-local address, never at a contact that
does not answer as the sender. v1 frames are dropped.
"""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
import umsgpack

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.wire import Contact, decode_frame
from llamanet_common.identity import NodeIdentity
from tests.dhtpeer import HOST, Peer, ping
from tests.swarmrecords import eventually

pytestmark = pytest.mark.timeout(60)


def filed(node: SwarmNode) -> dict[str, tuple[str, int]]:
    return {p["id"]: (p["ip"], p["port"]) for p in node.status()["peers"]}


def filed_as(node: SwarmNode, node_id: bytes, where: tuple[str, int]) -> asyncio.Future[None]:
    async def check() -> bool:
        return filed(node).get(node_id.hex()) == where

    return asyncio.ensure_future(eventually(check, timeout=5))


async def test_senders_are_filed_only_at_contacts_that_answer_as_them() -> None:
    node = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=0.5))
    other = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=0.5))
    await node.start(HOST, 0)
    await other.start(HOST, 0)
    peer = await Peer().start()
    try:
        # a contact at the packet's own source, proving its id: filed
        reply = await peer.ask(ping(peer.contact, peer.node_id), node.dht_port)
        assert reply is not None and decode_frame(reply, secret=None) is not None
        await filed_as(node, peer.node_id, (HOST, peer.port))

        # metadata / link-local contacts: dropped, no answer, never filed
        meta = NodeIdentity.generate().node_id_bytes
        assert await peer.ask(ping(Contact("169.254.169.254", 80), meta), node.dht_port) is None
        assert meta.hex() not in filed(node)

        # a contact where another node answers (its own proof, for its own id): answered, not filed
        liar = await Peer().start()
        assert await liar.ask(ping(Contact(HOST, other.dht_port), liar.node_id), node.dht_port) is not None
        await asyncio.sleep(1.0)
        assert liar.node_id.hex() not in filed(node)
        assert node.status()["refused_proofs"] >= 1
        liar.close()

        # the same, where nobody answers at all
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            silent = int(s.getsockname()[1])
        ghost = NodeIdentity.generate().node_id_bytes
        assert await peer.ask(ping(Contact(HOST, silent), ghost), node.dht_port) is not None
        await asyncio.sleep(1.0)
        assert ghost.hex() not in filed(node)

        # a v1 frame (0xA7 | flags | payload) is dropped without an answer
        v1 = b"\xa7\x00" + b"\x00" + os.urandom(20) + umsgpack.packb(["ping", [os.urandom(20)]])
        assert await peer.ask(v1, node.dht_port) is None
        dropped = node.status()["dropped_datagrams"]
        assert dropped >= 2

        # a node whose advertised name does not resolve (yet) is filed at its packets' source address
        unresolved = SwarmConfig(rpc_timeout_s=0.5, advertise_host="not-yet.invalid")
        late = SwarmNode(NodeIdentity.generate(), unresolved)
        await late.start(HOST, 0, [f"{HOST}:{node.dht_port}"])
        try:
            await filed_as(node, late.identity.node_id_bytes, (HOST, late.dht_port))
        finally:
            await late.stop()
    finally:
        peer.close()
        await other.stop()
        await node.stop()


async def test_one_socket_answering_as_many_ids_holds_one_contact_and_an_address_a_bounded_number() -> None:
    # the sybil of issue 14: one UDP socket pinging with 41 fresh ids used to put 41 contacts in the table;
    # now each id must be proved by its key: the socket holding 41 keys proves each, the newest one stays
    node = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=0.5, max_contacts_per_ip=3))
    await node.start(HOST, 0)
    peers = [await Peer().start() for _ in range(5)]
    try:
        sybil = peers[0]
        for _ in range(41):
            sybil.identity = NodeIdentity.generate()
            assert await sybil.ask(ping(sybil.contact, sybil.node_id), node.dht_port) is not None
            await filed_as(node, sybil.node_id, (HOST, sybil.port))
        at_sybil = [i for i, where in filed(node).items() if where == (HOST, sybil.port)]
        assert at_sybil == [sybil.node_id.hex()], "one contact per endpoint: the newest id proved there"

        # more endpoints on one address than the per-address cap: the extra ones are not filed
        for peer in peers[1:]:
            assert await peer.ask(ping(peer.contact, peer.node_id), node.dht_port) is not None

        async def capped() -> bool:
            return node.status()["refused_contacts"] == 2

        await eventually(capped, timeout=5)
        assert len(filed(node)) == 3
    finally:
        for peer in peers:
            peer.close()
        await node.stop()
