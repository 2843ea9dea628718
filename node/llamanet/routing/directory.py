"""The swarm as this node sees it: DHT lookups, cached for a moment, as ``Peer`` lists."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from llamanet.routing.peers import Peer
from llamanet.swarm.errors import SwarmError
from llamanet_common.record import NodeRecord

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
    """Lookups are cached: younger than ``fresh_s`` they are used as they are; up to ``stale_s`` they
    are used while a background lookup refreshes them, so requests rarely wait for the DHT."""

    def __init__(
        self,
        lookup: Lookup,
        self_id: str,
        fresh_s: float = 1.0,
        stale_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self.self_id = self_id
        self.fresh_s = fresh_s
        self.stale_s = stale_s
        self._clock = clock
        self._cache: dict[str | None, tuple[float, list[NodeRecord]]] = {}
        self._refreshing: dict[str | None, asyncio.Task[list[NodeRecord]]] = {}

    async def records(self, model: str | None = None) -> list[NodeRecord]:
        """Live records for ``model`` (all nodes when None); [] if the DHT cannot be asked."""
        hit = self._cache.get(model)
        age = None if hit is None else self._clock() - hit[0]
        if hit is not None and age is not None and age < self.fresh_s:
            return hit[1]
        task = self._refreshing.get(model)
        if task is None:
            task = asyncio.ensure_future(self._refresh(model))
            self._refreshing[model] = task
            task.add_done_callback(lambda _: self._refreshing.pop(model, None))
        if hit is not None and age is not None and age < self.stale_s:
            return hit[1]
        return await asyncio.shield(task)

    async def _refresh(self, model: str | None) -> list[NodeRecord]:
        hit = self._cache.get(model)
        try:
            records = await self._lookup(model)
        except SwarmError as exc:
            log.warning("swarm lookup for %s failed: %s", model or "all nodes", exc)
            records = hit[1] if hit else []
        self._cache[model] = (self._clock(), records)
        return records

    async def peers(self, model: str | None = None, *, include_self: bool = False) -> list[Peer]:
        found = (peer_from_record(r) for r in await self.records(model))
        return [p for p in found if p is not None and (include_self or p.node_id != self.self_id)]

    def forget(self) -> None:
        self._cache.clear()
