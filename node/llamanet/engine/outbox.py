"""Hands events from the decode thread to the event loop: once per decode step, not once per token.

Each hand-over wakes the event loop through a pipe write; with 8 streams that is 8 wake-ups per step
per token, which costs CPU the decoder needs. The scheduler puts a step's events here and flushes
them together. On the loop side each generation reads its own ``EventChannel``: a deque and at most
one waiting future, lighter per token than ``asyncio.Queue``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from llamanet.engine.events import Event


class EventChannel:
    """One generation's events, written and read on the event loop only."""

    __slots__ = ("_events", "_waiter")

    def __init__(self) -> None:
        self._events: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def push(self, event: Event) -> None:
        self._events.append(event)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Event:
        while not self._events:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        return self._events.popleft()


def _deliver(items: list[tuple[EventChannel, Event]]) -> None:
    for channel, event in items:
        channel.push(event)


class Outbox:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._items: list[tuple[EventChannel, Event]] = []
        self._lock = threading.Lock()

    def put(self, channel: EventChannel, event: Event) -> None:
        with self._lock:
            self._items.append((channel, event))

    def flush(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        if items and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(_deliver, items)
