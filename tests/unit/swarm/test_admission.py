"""``Admission`` against a real routing table and a scripted ``prove`` call: a contact is filed only
once its answer proves its id; a proof is asked once, then remembered; a contact that signed another
address is proved and filed there; one refused is not challenged again for a while; proofs in flight
are bounded, and so is how often a challenge is sent."""

from __future__ import annotations

import asyncio
from typing import Any

from kademlia.node import Node
from kademlia.routing import RoutingTable

from llamanet.swarm.admission import MAX_VERIFYING, Admission
from llamanet.swarm.proofs import Address, answer_challenge
from llamanet.swarm.wire import Contact
from llamanet_common.identity import NodeIdentity

OWN = NodeIdentity.generate()


class Peers:
    """Who answers at which address (identity and the contact it signs), and the challenges sent."""

    def __init__(self) -> None:
        self.at: dict[Address, tuple[NodeIdentity, Contact]] = {}
        self.asked: list[Address] = []
        self.sends: list[int | None] = []
        self.gate: asyncio.Event | None = None

    async def prove(self, where: Address, nonce: bytes, sends: int | None) -> tuple[bool, Any]:
        self.asked.append(where)
        self.sends.append(sends)
        if self.gate is not None:
            await self.gate.wait()
        if where not in self.at:
            return False, None
        identity, contact = self.at[where]
        return True, answer_challenge(identity, nonce, OWN.node_id_bytes, contact, None)


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def admission(peers: Peers, clock: Clock | None = None) -> tuple[Admission, RoutingTable]:
    router = RoutingTable(None, 20, Node(OWN.node_id_bytes))
    return Admission(router, OWN.node_id_bytes, peers.prove, refusal_s=5.0, clock=clock or Clock()), router


def ids(router: RoutingTable) -> dict[bytes, tuple[str, int]]:
    return {n.id: (n.ip, n.port) for b in router.buckets for n in b.get_nodes()}


async def test_a_contact_is_filed_once_proved_and_proved_once() -> None:
    peers = Peers()
    honest, where = NodeIdentity.generate(), ("10.0.0.2", 8468)
    peers.at[where] = (honest, Contact("10.0.0.2", 8468))
    gate, router = admission(peers)
    gate.offer(Node(honest.node_id_bytes, *where))
    assert ids(router) == {}, "not before the proof"
    await gate.settle()
    assert ids(router) == {honest.node_id_bytes: where}
    router.remove_contact(Node(honest.node_id_bytes))
    gate.offer(Node(honest.node_id_bytes, *where))  # remembered: filed at once, no second challenge
    assert ids(router) == {honest.node_id_bytes: where} and peers.asked == [where]


async def test_a_claimed_id_whose_key_answers_otherwise_is_not_filed() -> None:
    peers = Peers()
    forger, where = NodeIdentity.generate(), ("10.0.0.3", 8468)
    peers.at[where] = (forger, Contact("10.0.0.3", 8468))
    gate, router = admission(peers)
    victim = NodeIdentity.generate()
    gate.offer(Node(victim.node_id_bytes, *where))
    gate.offer(Node(b"\x01" * 20, "10.0.0.9", 1))  # nobody answers there
    await gate.settle()
    assert ids(router) == {} and gate.refused_proofs == 1


async def test_a_contact_signed_elsewhere_is_proved_and_filed_there() -> None:
    peers = Peers()
    node, service, own = NodeIdentity.generate(), ("10.96.0.10", 8468), ("10.0.0.4", 30001)
    peers.at[service] = peers.at[own] = (node, Contact("10.0.0.4", 30001))
    gate, router = admission(peers)
    gate.offer(Node(node.node_id_bytes, *service))
    await gate.settle()
    assert ids(router) == {node.node_id_bytes: own} and peers.asked == [service, own]


async def test_a_contact_whose_signed_address_does_not_answer_is_filed_where_it_answered() -> None:
    # from inside a NAT, a node's own forwarded address may be out of reach: the inner address it
    # answered at is used, as kademlia would
    peers = Peers()
    node, inner, forwarded = NodeIdentity.generate(), ("10.213.2.2", 8001), ("10.213.1.1", 30001)
    peers.at[inner] = (node, Contact("10.213.1.1", 30001))
    gate, router = admission(peers)
    gate.offer(Node(node.node_id_bytes, *inner))
    await gate.settle()
    assert ids(router) == {node.node_id_bytes: inner} and peers.asked == [inner, forwarded]


async def test_proofs_in_flight_are_bounded() -> None:
    peers = Peers()
    peers.gate = asyncio.Event()
    gate, _ = admission(peers)
    for i in range(MAX_VERIFYING + 10):
        gate.offer(Node(bytes([i]) * 20, "10.0.1.1", 1000 + i))
    gate.offer(Node(b"\xff" * 20, "10.0.1.1", 1000))  # the same endpoint again: already in flight
    await asyncio.sleep(0)
    assert len(peers.asked) == MAX_VERIFYING
    peers.gate.set()
    await gate.settle()


async def test_a_refused_contact_is_challenged_again_only_after_the_refusal_window() -> None:
    peers, clock = Peers(), Clock()
    forger, where = NodeIdentity.generate(), ("10.0.0.5", 8468)
    peers.at[where] = (forger, Contact("10.0.0.5", 8468))
    gate, router = admission(peers, clock)
    claimed = Node(b"\x02" * 20, *where)
    gate.offer(claimed)
    await gate.settle()
    gate.offer(claimed)  # within the window: no second challenge
    gate.offer(Node(b"\x01" * 20, "10.0.0.6", 1))  # nobody there
    await gate.settle()
    gate.offer(Node(b"\x03" * 20, "10.0.0.6", 1))  # another id at the silent address: not asked either
    await gate.settle()
    assert peers.asked == [where, ("10.0.0.6", 1)]
    clock.now += 5.1
    gate.offer(claimed)
    await gate.settle()
    assert peers.asked == [where, ("10.0.0.6", 1), where] and gate.refused_proofs == 2 and ids(router) == {}


async def test_how_often_a_challenge_is_sent_is_passed_on_and_zero_sends_none() -> None:
    peers = Peers()
    gate, _ = admission(peers)
    gate.offer(Node(b"\x01" * 20, "10.0.0.7", 1), sends=0)  # an unpadded request: no challenge
    gate.offer(Node(b"\x02" * 20, "10.0.0.7", 2), sends=3)
    gate.offer(Node(b"\x03" * 20, "10.0.0.7", 3))
    await gate.settle()
    assert peers.asked == [("10.0.0.7", 2), ("10.0.0.7", 3)] and peers.sends == [3, None]
