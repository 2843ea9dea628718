"""Peers that just failed are skipped for a while; repeated failures back off exponentially."""

from __future__ import annotations

import time
from collections.abc import Callable


class BanList:
    def __init__(
        self, base_s: float = 2.0, cap_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self._clock = clock
        self._until: dict[str, float] = {}
        self._strikes: dict[str, int] = {}

    def fail(self, node_id: str) -> float:
        """Record a failure; returns how long the peer is banned for."""
        strikes = self._strikes.get(node_id, 0) + 1
        self._strikes[node_id] = strikes
        duration: float = min(self.cap_s, self.base_s * 2.0 ** (strikes - 1))
        self._until[node_id] = self._clock() + duration
        return duration

    def succeed(self, node_id: str) -> None:
        self._strikes.pop(node_id, None)
        self._until.pop(node_id, None)

    def banned(self, node_id: str) -> bool:
        until = self._until.get(node_id)
        return until is not None and until > self._clock()
