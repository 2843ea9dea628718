"""The swarm as this node sees it: DHT lookups, cached for a moment, as ``Peer`` lists."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from llamanet.routing.peers import Peer
from llamanet.swarm.errors import SwarmError
from llamanet.swarm.record import NodeRecord

log = logging.getLogger(__name__)

Lookup = Callable[[str | None], Awaitable[list[NodeRecord]]]


def peer_from_record(record: NodeRecord) -> Peer | None:
    if not record.urls:
        return None
    return Peer(
        node_id=record.node_id,
        url=record.urls[0].rstrip("/"),
        models=tuple(record.models),
        slots_total=max(1, record.slots_total),
        slots_free=record.slots_free,
        queue_depth=record.queue_depth,
        active_requests=record.active_requests,
        tokens_per_s=record.tokens_per_s,
        site=record.site,
    )


class SwarmDirectory:
    def __init__(
        self, lookup: Lookup, self_id: str, ttl_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lookup = lookup
        self.self_id = self_id
        self.ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str | None, tuple[float, list[NodeRecord]]] = {}

    async def records(self, model: str | None = None) -> list[NodeRecord]:
        """Live records for ``model`` (all nodes when None); [] if the DHT cannot be asked."""
        now = self._clock()
        hit = self._cache.get(model)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            records = await self._lookup(model)
        except SwarmError as exc:
            log.warning("swarm lookup for %s failed: %s", model or "all nodes", exc)
            records = hit[1] if hit else []
        self._cache[model] = (now, records)
        return records

    async def peers(self, model: str | None = None, *, include_self: bool = False) -> list[Peer]:
        found = (peer_from_record(r) for r in await self.records(model))
        return [p for p in found if p is not None and (include_self or p.node_id != self.self_id)]

    def forget(self) -> None:
        self._cache.clear()
