"""``NodeInfo``: what the client knows about one node, from a DHT record, a static URL or a fresh probe."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from llamanet_common.record import NodeRecord


@dataclass(frozen=True)
class NodeInfo:
    """One node as the client sees it. ``models`` empty means "unknown" (a static node not yet probed)."""

    url: str
    node_id: str = ""
    name: str | None = None
    urls: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    site: str | None = None
    context_size: int = 0
    queue_depth: int = 0
    active_requests: int = 0
    slots_total: int = 0
    slots_free: int = 0
    tokens_per_s: float = 0.0
    uptime_s: float = 0.0
    version: str = ""
    ready: bool = True
    source: str = "dht"  # "dht" or "static"
    dht_address: str | None = None
    expires_at: float | None = None

    @property
    def load(self) -> int:
        """Requests waiting or running: the number selection minimises."""
        return self.queue_depth + self.active_requests

    @property
    def short_id(self) -> str:
        return self.node_id[:8] if self.node_id else "-"

    def serves(self, model: str | None) -> bool:
        """True if the node serves ``model`` (any model when None; unknown models count as a maybe)."""
        return model is None or not self.models or model in self.models

    def with_status(self, status: dict[str, Any]) -> NodeInfo:
        """This node updated with a fresh ``GET /status`` answer."""
        model = status.get("model")
        return replace(
            self,
            node_id=self.node_id or str(status.get("node_id") or ""),
            models=self.models or ((str(model),) if model else ()),
            queue_depth=int(status.get("queue_depth") or 0),
            active_requests=int(status.get("active_requests") or 0),
            slots_total=int(status.get("slots_total") or 0),
            slots_free=int(status.get("slots_free") or 0),
            tokens_per_s=float(status.get("tokens_per_second") or 0.0),
            uptime_s=float(status.get("uptime") or 0.0),
            version=str(status.get("version") or self.version),
            ready=status.get("status", "ready") == "ready",
        )


def from_record(record: NodeRecord) -> NodeInfo | None:
    """A ``NodeInfo`` for a DHT record, or None if the record advertises no HTTP URL."""
    if not record.urls:
        return None
    return NodeInfo(
        url=record.urls[0].rstrip("/"),
        node_id=record.node_id,
        name=record.name,
        urls=tuple(u.rstrip("/") for u in record.urls),
        models=tuple(record.models),
        site=record.site,
        context_size=record.context_size,
        queue_depth=record.queue_depth,
        active_requests=record.active_requests,
        slots_total=record.slots_total,
        slots_free=record.slots_free,
        tokens_per_s=record.tokens_per_s,
        uptime_s=record.uptime_s,
        version=record.version,
        source="dht",
        dht_address=f"{record.dht_host}:{record.dht_port}",
        expires_at=record.expires_at,
    )


def from_url(url: str) -> NodeInfo:
    """A static node known only by its URL (``Client(nodes=[...])``)."""
    url = url.rstrip("/")
    return NodeInfo(url=url, urls=(url,), source="static")
