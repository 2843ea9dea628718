"""``LookupCache``: the one cache of swarm lookups, used by the node's directory and the client's discovery.

An answer younger than ``fresh_s`` is used as it is; up to ``stale_s`` it is used while one background
lookup refreshes it (the node, so requests rarely wait for the DHT); older, callers wait for the lookup
(one lookup per key, however many callers). ``stale_s == fresh_s`` (the client) means no stale answers.

Keys are model names from user requests, so the cache is bounded: at most ``max_keys`` keys (the least
recently used goes first) and keys over ``max_key_chars`` are looked up but never stored. Lookups of
unknown models therefore cost a lookup each, never memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

V = TypeVar("V")
Key = str | None


class LookupCache(Generic[V]):
    def __init__(
        self,
        lookup: Callable[[Key], Awaitable[V]],
        *,
        fresh_s: float,
        stale_s: float | None = None,
        max_keys: int = 256,
        max_key_chars: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self.fresh_s = fresh_s
        self.stale_s = fresh_s if stale_s is None else max(stale_s, fresh_s)
        self.max_keys = max_keys
        self.max_key_chars = max_key_chars
        self._clock = clock
        self._entries: OrderedDict[Key, tuple[float, V]] = OrderedDict()
        self._pending: dict[Key, asyncio.Task[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def cacheable(self, key: Key) -> bool:
        return key is None or len(key) <= self.max_key_chars

    def peek(self, key: Key) -> V | None:
        """The stored answer for ``key`` however old, without a lookup."""
        hit = self._entries.get(key)
        return None if hit is None else hit[1]

    async def get(self, key: Key, *, fresh: bool = False) -> V:
        """The answer for ``key``; ``fresh`` skips the stored one."""
        if not self.cacheable(key):
            return await self._lookup(key)
        hit = self._entries.get(key)
        age = None if hit is None or fresh else self._clock() - hit[0]
        if hit is not None and age is not None:
            self._entries.move_to_end(key)
            if age < self.fresh_s:
                return hit[1]
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._refresh(key))
            self._pending[key] = task
            task.add_done_callback(lambda t: self._settled(key, t))
        if hit is not None and age is not None and age < self.stale_s:
            return hit[1]
        return await asyncio.shield(task)

    async def _refresh(self, key: Key) -> V:
        value = await self._lookup(key)
        self._entries[key] = (self._clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)
        return value

    def _settled(self, key: Key, task: asyncio.Task[V]) -> None:
        self._pending.pop(key, None)
        if not task.cancelled():
            task.exception()  # a background refresh nobody awaited must not log "never retrieved"

    def invalidate(self) -> None:
        """Forget every answer (the next ``get`` of each key looks it up again)."""
        self._entries.clear()
