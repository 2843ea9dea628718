"""``Peer``: a node as routing sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Peer:
    node_id: str
    url: str
    models: tuple[str, ...]
    slots_total: int = 1
    slots_free: int = 0
    queue_depth: int = 0
    active_requests: int = 0
    tokens_per_s: float = 0.0
    site: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def load(self) -> float:
        """Requests in flight or waiting per slot: 0 idle, 1 full, above 1 queueing."""
        return (self.active_requests + self.queue_depth) / max(1, self.slots_total)

    def with_status(self, status: dict[str, Any]) -> Peer:
        """This peer updated with a fresh ``GET /status`` answer."""
        return Peer(
            node_id=self.node_id,
            url=self.url,
            models=self.models,
            slots_total=int(status.get("slots_total", self.slots_total)),
            slots_free=int(status.get("slots_free", self.slots_free)),
            queue_depth=int(status.get("queue_depth", self.queue_depth)),
            active_requests=int(status.get("active_requests", self.active_requests)),
            tokens_per_s=float(status.get("tokens_per_second", self.tokens_per_s)),
            site=self.site,
            extra=self.extra,
        )
