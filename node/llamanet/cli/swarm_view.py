"""Pure rendering of swarm views for ``llamanet status`` and ``monitor``: tables, counts, JSON, changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from llamanet.routing.view import NodeView

COLUMNS = ("ID", "NAME", "MODELS", "LOAD", "SLOTS", "TOK/S", "UPTIME", "SITE", "URL")


def fmt_uptime(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def node_row(node: NodeView) -> tuple[str, ...]:
    slots = f"{node.slots_free}/{node.slots_total} free" if node.slots_total else "-"
    return (
        node.short_id,
        node.name or "-",
        ",".join(node.models) or "-",
        f"{node.load:.2f} ({node.active_requests} active, {node.queue_depth} queued)",
        slots,
        f"{node.tokens_per_s:.1f}",
        fmt_uptime(node.uptime_s),
        node.site or "-",
        node.url,
    )


def render_table(rows: Sequence[Sequence[str]], header: Sequence[str] = COLUMNS) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def model_counts(nodes: Iterable[NodeView]) -> dict[str, list[str]]:
    """Model name -> node ids serving it, models sorted by name."""
    out: dict[str, list[str]] = {}
    for node in nodes:
        for model in node.models:
            out.setdefault(model, []).append(node.node_id)
    return dict(sorted(out.items()))


def render_status(nodes: Sequence[NodeView]) -> str:
    """The table of nodes, then one line per model with its node count."""
    counts = model_counts(nodes)
    parts = [render_table([node_row(n) for n in nodes]), ""]
    parts.append(f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}, {len(counts)} model(s)")
    parts += [f"  {model}: {len(ids)} node{'s' if len(ids) != 1 else ''}" for model, ids in counts.items()]
    return "\n".join(parts)


def node_json(node: NodeView, now: float) -> dict[str, Any]:
    host, _, port = (node.dht_address or "").rpartition(":")
    return {
        "node_id": node.node_id,
        "name": node.name,
        "urls": list(node.urls),
        "models": list(node.models),
        "site": node.site,
        "context_size": node.context_size,
        "queue_depth": node.queue_depth,
        "active_requests": node.active_requests,
        "slots_total": node.slots_total,
        "slots_free": node.slots_free,
        "tokens_per_s": node.tokens_per_s,
        "uptime_s": node.uptime_s,
        "version": node.version,
        "dht_host": host or None,
        "dht_port": int(port) if port.isdigit() else None,
        "expires_in": round(node.expires_at - now, 3) if node.expires_at is not None else None,
    }


def status_json(nodes: Sequence[NodeView], now: float) -> dict[str, Any]:
    """The shape of the node's ``GET /swarm/nodes`` (without ``self``)."""
    return {"nodes": [node_json(n, now) for n in nodes], "models": model_counts(nodes)}


@dataclass(frozen=True)
class Changes:
    joined: list[NodeView]
    left: list[NodeView]


def changes(before: Sequence[NodeView], after: Sequence[NodeView]) -> Changes:
    """Nodes that appeared and disappeared between two views (by node id, else URL)."""

    def key(n: NodeView) -> str:
        return n.node_id or n.url

    old, new = {key(n) for n in before}, {key(n) for n in after}
    return Changes([n for n in after if key(n) not in old], [n for n in before if key(n) not in new])


def describe(node: NodeView) -> str:
    return f"{node.short_id} {node.name or '-'} ({','.join(node.models) or '-'}) {node.url}"
