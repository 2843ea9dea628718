"""Hands events from the decode thread to the event loop: once per decode step, not once per token.

Each hand-over wakes the event loop through a pipe write; with 8 streams that is 8 wake-ups per step
per token, which costs CPU the decoder needs. The scheduler puts a step's events here and flushes
them together.
"""

from __future__ import annotations

import asyncio
import threading

from llamanet.engine.events import Event


def _deliver(items: list[tuple[asyncio.Queue[Event], Event]]) -> None:
    for queue, event in items:
        queue.put_nowait(event)


class Outbox:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._items: list[tuple[asyncio.Queue[Event], Event]] = []
        self._lock = threading.Lock()

    def put(self, queue: asyncio.Queue[Event], event: Event) -> None:
        with self._lock:
            self._items.append((queue, event))

    def flush(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        if items and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(_deliver, items)
