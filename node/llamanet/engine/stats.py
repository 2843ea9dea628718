"""Engine load figures: slots, queue and a sliding-window throughput meter."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from llamanet_common.status import slot_load


@dataclass(frozen=True)
class EngineStats:
    slots_total: int
    slots_busy: int
    queue_depth: int
    tokens_per_second: float
    tokens_generated: int
    requests_completed: int

    @property
    def slots_free(self) -> int:
        return self.slots_total - self.slots_busy

    @property
    def load(self) -> float:
        """0.0 idle .. 1.0 every slot busy; above 1.0 when requests wait (``slot_load``)."""
        return slot_load(self.slots_busy, self.queue_depth, self.slots_total)


class ThroughputMeter:
    """Tokens per second over the last ``window`` seconds of activity."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.total = 0
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        self._last_rate = 0.0

    def add(self, n: int, now: float | None = None) -> None:
        if n <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            self.total += n
            self._events.append((now, n))
            while self._events and self._events[0][0] < now - self.window:
                self._events.popleft()

    def rate(self, now: float | None = None) -> float:
        """Tokens/s while recently active; the last measured rate once idle (a node's known speed)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._events and self._events[0][0] < now - self.window:
                self._events.popleft()
            if len(self._events) >= 2:
                span = self._events[-1][0] - self._events[0][0]
                if span > 0:
                    self._last_rate = sum(n for _, n in list(self._events)[1:]) / span
            return self._last_rate
