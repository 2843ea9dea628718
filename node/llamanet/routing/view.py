"""``NodeView``: one node as routing and the client see it, from its signed DHT record, a fixed URL, or
either updated by a validated ``/status`` probe (``NodeStatus``).

``key`` is what bans and in-flight counts are keyed by: the record's node id (proved by its signature).
A fixed-URL node (``Client(nodes=[...])``) has no record, and the node id its ``/status`` names is only a
claim, so its key is its URL (``url_key``): a URL cannot be mistaken for a 40-hex node id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from llamanet_common.record import EMBEDDINGS, NodeRecord
from llamanet_common.status import NodeStatus, slot_load

Source = Literal["dht", "static"]


def url_key(url: str) -> str:
    """The ban key of a node known only by its URL."""
    return url.rstrip("/")


@dataclass(frozen=True)
class NodeView:
    """``models`` empty means "unknown" (a fixed-URL node not probed yet); ``slots_total`` 0 likewise."""

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
    source: Source = "dht"
    dht_address: str | None = None
    expires_at: float | None = None
    public_key: str = ""  # a record's key: its URL must prove it (``address_proofs``) before traffic
    seq: int = 0  # a record's sequence number: a new record is proved again
    capabilities: tuple[str, ...] = ()  # a record's: "embeddings" when the node serves them
    prefixes: frozenset[str] = frozenset()  # a probe's: the chats it says it holds (``prefix_holdings``)

    @property
    def key(self) -> str:
        return self.node_id if self.source == "dht" and self.node_id else url_key(self.url)

    @property
    def load(self) -> float:
        """Requests running or waiting per slot (``llamanet_common.status.slot_load``)."""
        return slot_load(self.active_requests, self.queue_depth, self.slots_total)

    @property
    def has_room(self) -> bool:
        """A free slot, or an unknown slot count (a fixed-URL node not probed yet)."""
        return self.slots_total == 0 or self.slots_free > 0

    @property
    def short_id(self) -> str:
        return self.node_id[:8] if self.node_id else "-"

    def serves(self, model: str | None) -> bool:
        """True if the node serves ``model`` (any model when None; unknown models count as a maybe)."""
        return model is None or not self.models or model in self.models

    @property
    def serves_embeddings(self) -> bool:
        """The node's record says it was started with ``--embeddings``."""
        return EMBEDDINGS in self.capabilities

    def with_status(self, status: NodeStatus) -> NodeView:
        """This node updated with a fresh, validated ``/status`` answer.

        A record's node id and models stay (the record is signed, the answer is not); a fixed-URL node
        learns them from the answer.
        """
        return replace(
            self,
            node_id=self.node_id or status.node_id,
            models=self.models or ((status.model,) if status.model else ()),
            queue_depth=status.queue_depth,
            active_requests=status.active_requests,
            slots_total=status.slots_total,
            slots_free=status.slots_free,
            tokens_per_s=status.tokens_per_second,
            uptime_s=status.uptime,
            version=status.version or self.version,
            ready=status.ready,
            prefixes=frozenset(status.prefixes),
        )


def view_from_record(record: NodeRecord) -> NodeView | None:
    """The view of a DHT record, or None if the record advertises no HTTP URL."""
    if not record.urls:
        return None
    urls = tuple(u.rstrip("/") for u in record.urls)
    return NodeView(
        url=urls[0],
        node_id=record.node_id,
        name=record.name,
        urls=urls,
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
        public_key=record.public_key,
        seq=record.seq,
        capabilities=tuple(record.capabilities),
    )


def reachable(view: NodeView, allows: Callable[[str], bool]) -> NodeView | None:
    """``view`` with only the URLs this reader may use (``urls.NetworkPolicy``), or None if none is left."""
    urls = tuple(u for u in view.urls if allows(u))
    if not urls:
        return None
    return view if urls == view.urls else replace(view, url=urls[0], urls=urls)


def view_from_url(url: str) -> NodeView:
    """A node known only by its URL (``Client(nodes=[...])``), until a probe describes it."""
    url = url_key(url)
    return NodeView(url=url, urls=(url,), source="static")


def unreachable(view: NodeView) -> NodeView:
    """A fixed-URL node whose probe failed: listed, but not ready."""
    return NodeView(url=view.url, urls=view.urls, source=view.source, ready=False)
