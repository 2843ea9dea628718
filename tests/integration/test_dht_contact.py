"""A real SwarmNode on loopback against hand-made datagrams: where a sender is filed (frame v2 contact).

A peer is filed at the contact its frames advertise: at once when its packets come from there, after a
ping to it answers with the sender's id otherwise; never at a metadata or link-local address, never at
a contact that does not answer as the sender. v1 frames are dropped.
"""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
import umsgpack

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.wire import Contact, decode_frame, encode_frame
from llamanet_common.identity import NodeIdentity

pytestmark = pytest.mark.timeout(60)
HOST = "127.0.0.1"


def ping(contact: Contact, node_id: bytes) -> bytes:
    rpc = b"\x00" + os.urandom(20) + umsgpack.packb(["ping", [node_id]])
    return encode_frame(rpc, secret=None, client=False, contact=contact)


class Peer:
    """A hand-driven UDP socket that sends pings and reads what comes back."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])

    async def ask(self, datagram: bytes, to: int, wait: float = 0.5) -> bytes | None:
        loop = asyncio.get_running_loop()
        self.sock.sendto(datagram, (HOST, to))
        try:
            return await asyncio.wait_for(loop.sock_recv(self.sock, 9000), wait)
        except TimeoutError:
            return None


def filed(node: SwarmNode) -> dict[str, tuple[str, int]]:
    return {p["id"]: (p["ip"], p["port"]) for p in node.status()["peers"]}


async def test_senders_are_filed_only_at_contacts_that_answer_as_them() -> None:
    node = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=0.5))
    other = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=0.5))
    await node.start(HOST, 0)
    await other.start(HOST, 0)
    peer = Peer()
    try:
        # a contact at the packet's own source: filed at once
        me = os.urandom(20)
        reply = await peer.ask(ping(Contact(HOST, peer.port), me), node.dht_port)
        assert reply is not None and decode_frame(reply, secret=None) is not None
        assert filed(node)[me.hex()] == (HOST, peer.port)

        # metadata / link-local contacts: dropped, no answer, never filed
        meta = os.urandom(20)
        assert await peer.ask(ping(Contact("169.254.169.254", 80), meta), node.dht_port) is None
        assert meta.hex() not in filed(node)

        # a contact where another node answers with another id: answered (at the source), not filed
        liar = os.urandom(20)
        assert await peer.ask(ping(Contact(HOST, other.dht_port), liar), node.dht_port) is not None
        await asyncio.sleep(1.0)
        assert liar.hex() not in filed(node)

        # the same, where nobody answers at all
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            silent = int(s.getsockname()[1])
        ghost = os.urandom(20)
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
            assert filed(node)[late.node_id] == (HOST, late.dht_port)
        finally:
            await late.stop()
    finally:
        peer.sock.close()
        await other.stop()
        await node.stop()


async def test_one_socket_answering_as_many_ids_holds_one_contact_and_an_address_a_bounded_number() -> None:
    # the sybil of issue 14: one UDP socket pinging with 41 fresh ids used to put 41 contacts in the table
    node = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=0.5, max_contacts_per_ip=3))
    await node.start(HOST, 0)
    peers = [Peer() for _ in range(5)]
    try:
        sybil = peers[0]
        last = b""
        for _ in range(41):
            last = os.urandom(20)
            assert await sybil.ask(ping(Contact(HOST, sybil.port), last), node.dht_port) is not None
        at_sybil = [i for i, where in filed(node).items() if where == (HOST, sybil.port)]
        assert at_sybil == [last.hex()], "one contact per endpoint: the newest id answering there"

        # more endpoints on one address than the per-address cap: the extra ones are not filed
        for peer in peers[1:]:
            assert await peer.ask(ping(Contact(HOST, peer.port), os.urandom(20)), node.dht_port) is not None
        assert len(filed(node)) == 3
        assert node.status()["refused_contacts"] == 2
    finally:
        for peer in peers:
            peer.sock.close()
        await node.stop()
