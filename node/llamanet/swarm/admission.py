"""``Admission``: which contacts enter the routing table, and when.

A contact is offered (``offer``) when it sent us a request (at the contact its frame advertises) or
answered one of ours (at the address we asked; contacts learned from ``find_node`` answers are offered
once they answer). It is filed only once it proved its id there (``proofs``): a ``prove`` RPC sent to
that address, answered with a signature by the key its id is the hash of and, with swarm authorities, a
valid certificate chain. A proof is remembered (``ProvenContacts``), so a contact proves itself once per
address, not at every packet. A contact that signed another address than the one asked is filed where
it answered (as kademlia files it), challenged at the address it signed, and moved there if it proves
itself there too (from inside a NAT its own forwarded address may be out of reach: it stays).

At most ``MAX_VERIFYING`` proofs run at once; beyond that a contact is not filed yet (it is offered
again at its next packet). A contact refused (or an address that did not answer) is not challenged
again for ``refusal_s`` (at most ``MAX_REFUSED`` remembered), so a peer that cannot prove its id costs
one challenge per window, not one per packet. Filing keeps one contact per UDP endpoint (a new id proved
at a filed endpoint replaces the old one) and at most ``max_contacts_per_ip`` per IP address (a whole
site behind one NAT address fits; a sybil farm on one host does not). With an authority, ``expire``
drops the contacts whose certificate ended.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from kademlia.node import Node

from llamanet.swarm.errors import ContactProofError
from llamanet.swarm.proofs import NONCE_BYTES, Address, ProvenContact, ProvenContacts, check_proof

log = logging.getLogger(__name__)

MAX_VERIFYING = 64  # proofs in flight
MAX_REFUSED = 4096  # (id, address) pairs remembered as refused
SETTLE_ROUNDS = 3  # follow-up proofs (at a signed contact) awaited by ``settle``
# (address, nonce, how many times at most to send it: None for the configured retransmits) -> RPC result
Prove = Callable[[Address, bytes, int | None], Awaitable[tuple[bool, Any]]]


class Admission:
    def __init__(
        self,
        router: Any,
        own_id: bytes,
        prove: Prove,
        *,
        authorities: frozenset[str] = frozenset(),
        clock_skew_s: float = 5.0,
        max_contacts_per_ip: int = 256,
        refusal_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._router = router
        self._own = own_id
        self._prove = prove
        self.authorities = authorities
        self._skew = clock_skew_s
        self._max_per_ip = max_contacts_per_ip
        self._clock = clock
        self.refusal_s = refusal_s
        self._refused: OrderedDict[tuple[bytes, Address], float] = OrderedDict()  # -> refused until
        self.proven = ProvenContacts()
        self._verifying: set[Address] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.refused_contacts = 0  # proved, but over the per-address cap
        self.refused_proofs = 0  # answered our challenge without proving its id (or membership)

    def offer(self, node: Node, sends: int | None = None) -> None:
        """File ``node`` (new to the table) at once if it proved its id at its address, else challenge it
        there, sending the challenge at most ``sends`` times (None: with the configured retransmits)."""
        where = (str(node.ip), int(node.port))
        if self.proven.get(node.id, where, self._clock()) is not None:
            self.file(node)
        elif sends is None or sends > 0:
            self._start(node, where, sends)

    def _start(self, node: Node, where: Address, sends: int | None, moving: bool = False) -> None:
        """Challenge ``node`` at ``where``; ``moving``: it is filed already, at the address first asked,
        and signed ``where``, where it is moved if it proves itself there too."""
        if self._closed or where in self._verifying or len(self._verifying) >= MAX_VERIFYING:
            return
        now = self._clock()
        if any(self._refused.get(key, 0.0) > now for key in ((node.id, where), (b"", where))):
            return
        self._verifying.add(where)
        task = asyncio.ensure_future(self._check(node, where, sends, moving))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, node: Node, where: Address, sends: int | None, moving: bool) -> None:
        try:
            nonce = os.urandom(NONCE_BYTES)
            ok, answer = await self._prove(where, nonce, sends)
            if not ok:  # nobody (or nobody who saw our challenge) there: not asked again for a while
                self._refuse(b"", where)
                log.debug("contact %s:%s claiming id %s did not answer our challenge", *where, node.id.hex())
                return
            try:
                proven = check_proof(
                    answer,
                    claimed_id=node.id,
                    challenger_id=self._own,
                    nonce=nonce,
                    asked=where,
                    authorities=self.authorities,
                    now=self._clock(),
                    clock_skew_s=self._skew,
                )
            except ContactProofError as exc:
                self.refused_proofs += 1
                self._refuse(node.id, where)
                log.info("contact %s:%s claiming id %s not filed: %s", *where, node.id.hex()[:12], exc)
                return
        finally:
            self._verifying.discard(where)
        if proven.where == where:
            if moving:  # from the address first asked to the one it signed
                self._router.remove_contact(node)
            self._admit(proven)
        elif not moving:  # it answered here but signed another address: filed here, moved if it answers there
            self._admit(replace(proven, where=where))
            self._start(Node(node.id, *proven.where), proven.where, sends, moving=True)

    def _admit(self, proven: ProvenContact) -> None:
        self.proven.add(proven)
        node = Node(proven.node_id, *proven.where)
        if self._router.is_new_node(node):
            self.file(node)

    def _refuse(self, node_id: bytes, where: Address) -> None:
        self._refused.pop((node_id, where), None)
        self._refused[(node_id, where)] = self._clock() + self.refusal_s
        while len(self._refused) > MAX_REFUSED:
            self._refused.popitem(last=False)

    def file(self, node: Node) -> None:
        """Add a proved contact: one per UDP endpoint, at most ``max_contacts_per_ip`` per address."""
        same_ip = [n for bucket in self._router.buckets for n in bucket.get_nodes() if n.ip == node.ip]
        for other in same_ip:
            if other.port == node.port and other.id != node.id:
                self._router.remove_contact(other)
                same_ip.remove(other)
                break
        if len(same_ip) >= self._max_per_ip:
            self.refused_contacts += 1
            return
        self._router.add_contact(node)

    def expire(self) -> int:
        """Drop the contacts whose proof ended (their certificate expired); how many were dropped."""
        gone = self.proven.expired(self._clock())
        for proven in gone:
            log.info("contact %s dropped: its membership certificate ended", proven.node_id.hex()[:12])
            self._router.remove_contact(Node(proven.node_id))
        return len(gone)

    async def settle(self) -> None:
        """Wait for the proofs in flight (and those they started) to end."""
        for _ in range(SETTLE_ROUNDS):
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        """Start no more proofs; cancel those in flight."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
