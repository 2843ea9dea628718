"""``AddressProofs``: a DHT record's URL gets user traffic (or a client's key) only once it proved that
it is served by the record's key (``llamanet_common.proofs``: a fresh challenge signed by that key).

Proofs are cached per (node id, url) for the record ``seq`` they were made for: a changed record is
proved again. Concurrent callers share one challenge (single flight); the cache is bounded. Fixed-URL
nodes (``source == "static"``, given by the user) need no proof. The caller supplies the HTTP GET, so
the node's router and the client share this.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from llamanet.routing.view import NodeView
from llamanet_common.proofs import ProofError, new_challenge, verify_address

# GET <url>/swarm/proof?u=<url>&c=<challenge>: the decoded JSON answer; raise ProofError if none came
FetchProof = Callable[[str, str], Awaitable[Any]]


class AddressProofs:
    def __init__(self, fetch: FetchProof, max_entries: int = 4096) -> None:
        self._fetch = fetch
        self._proven: OrderedDict[tuple[str, str], int] = OrderedDict()  # (node id, url) -> seq proven
        self._pending: dict[tuple[str, str, int], asyncio.Future[None]] = {}
        self.max_entries = max_entries

    def is_proven(self, view: NodeView) -> bool:
        return view.source == "static" or self._proven.get((view.node_id, view.url)) == view.seq

    async def prove(self, view: NodeView) -> None:
        """Return once ``view.url`` proved ``view``'s record key; ``ProofError`` if it cannot."""
        if view.source == "static":
            return
        if self.is_proven(view):
            self._proven.move_to_end((view.node_id, view.url))
            return
        if not view.public_key:
            raise ProofError(f"{view.url}: no record key to prove")
        key = (view.node_id, view.url, view.seq)
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._challenge(view))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        await asyncio.shield(pending)

    async def _challenge(self, view: NodeView) -> None:
        challenge = new_challenge()
        answer = await self._fetch(view.url, challenge)
        verify_address(
            answer, url=view.url, challenge=challenge, node_id=view.node_id, public_key=view.public_key
        )
        self._proven[(view.node_id, view.url)] = view.seq
        self._proven.move_to_end((view.node_id, view.url))
        while len(self._proven) > self.max_entries:
            self._proven.popitem(last=False)
