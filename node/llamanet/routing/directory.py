"""The swarm as this node sees it: DHT lookups (through the bounded ``LookupCache``) as ``NodeView`` lists."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from llamanet.routing.lookup_cache import LookupCache
from llamanet.routing.view import NodeView, reachable, view_from_record
from llamanet.swarm.errors import SwarmError
from llamanet.swarm.validation import certified_until
from llamanet_common.record import NodeRecord

log = logging.getLogger(__name__)

Lookup = Callable[[str | None], Awaitable[list[NodeRecord]]]
MAX_MODEL_CHARS = 256  # a record's model names are at most this long (``RecordLimits.max_item_chars``)


class SwarmDirectory:
    """Lookups are cached: younger than ``fresh_s`` they are used as they are; up to ``stale_s`` they
    are used while a background lookup refreshes them, so requests rarely wait for the DHT. A failed
    lookup keeps the last answer."""

    def __init__(
        self,
        lookup: Lookup,
        self_id: str,
        fresh_s: float = 1.0,
        stale_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        max_models: int = 256,
        allows: Callable[[str], bool] = lambda url: True,
        cert_skew_s: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._lookup = lookup
        self.self_id = self_id
        self.allows = allows  # which peer URLs may be used (``NetworkPolicy.allows``)
        # with a swarm authority: records were verified when looked up; a cached one is dropped once its
        # certificate expires (``cert_skew_s`` past ``not_after``), not only at the next lookup
        self.cert_skew_s = cert_skew_s
        self._wall = wall_clock
        self._cache: LookupCache[list[NodeRecord]] = LookupCache(
            self._ask,
            fresh_s=fresh_s,
            stale_s=stale_s,
            max_keys=max_models,
            max_key_chars=MAX_MODEL_CHARS,
            clock=clock,
        )

    async def _ask(self, model: str | None) -> list[NodeRecord]:
        try:
            return await self._lookup(model)
        except SwarmError as exc:
            log.warning("swarm lookup for %s failed: %s", model or "all nodes", exc)
            return self._cache.peek(model) or []

    async def records(self, model: str | None = None) -> list[NodeRecord]:
        """Live records for ``model`` (all nodes when None); [] if the DHT cannot be asked.

        A model's answer is merged with the all-nodes answer already held (its records that serve
        ``model``), so a node listed in ``/v1/models`` is routed to even while the model's own answer
        is still the older one being refreshed.

        No record names a model longer than ``MAX_MODEL_CHARS``: such names are not looked up at all.
        """
        if model is not None and len(model) > MAX_MODEL_CHARS:
            return []
        found = await self._cache.get(model)
        if model is not None:
            found = newest_per_node(found, self._cache.peek(None) or [], model)
        if self.cert_skew_s is None:
            return found
        horizon = self._wall() - self.cert_skew_s
        return [r for r in found if certified_until(r) > horizon]

    async def views(self, model: str | None = None, *, include_self: bool = False) -> list[NodeView]:
        found = (view_from_record(r) for r in await self.records(model))
        usable = (reachable(v, self.allows) for v in found if v is not None)
        return [v for v in usable if v is not None and (include_self or v.node_id != self.self_id)]


def newest_per_node(primary: list[NodeRecord], extra: list[NodeRecord], model: str) -> list[NodeRecord]:
    """``primary`` plus the records of ``extra`` that serve ``model``, one per node id (highest ``seq``),
    in first-seen order."""
    best: dict[str, NodeRecord] = {}
    for record in [*primary, *(r for r in extra if model in r.models)]:
        held = best.get(record.node_id)
        if held is None or record.seq > held.seq:
            best[record.node_id] = record
    return list(best.values())
