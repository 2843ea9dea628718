"""Models the swarm served lately: a request for one whose nodes all vanished (a partition, their
records expired) is a 503 "no node reachable now", not a 404 "no such model".

Only names taken from validated records enter it (never a request's model name), and it is bounded
(least recently seen dropped first), so it cannot grow with user input.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

REMEMBER_S = 3600.0  # how long a vanished model is still answered with a 503
MAX_MODELS = 512


class RecentModels:
    """When each model was last seen served in the swarm (monotonic seconds)."""

    def __init__(self, remember_s: float = REMEMBER_S, max_models: int = MAX_MODELS) -> None:
        self.remember_s = remember_s
        self.max_models = max_models
        self._seen: OrderedDict[str, float] = OrderedDict()

    def saw(self, models: Iterable[str], now: float) -> None:
        for model in models:
            self._seen[model] = now
            self._seen.move_to_end(model)
        while len(self._seen) > self.max_models:
            self._seen.popitem(last=False)

    def seen_ago(self, model: str, now: float) -> float | None:
        """Seconds since ``model`` was last seen served, or None when not within ``remember_s``."""
        when = self._seen.get(model)
        if when is None or now - when > self.remember_s:
            return None
        return now - when
