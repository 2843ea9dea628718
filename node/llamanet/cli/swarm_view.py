"""Pure rendering of swarm views for ``llamanet status`` and ``monitor``: tables, counts, JSON, changes.

Every string a peer chose (name, site, models, URL) goes through ``printable`` before it reaches the
terminal: control characters (escape sequences), bidi overrides and zero-width marks are dropped and
long values cut, so a record cannot rewrite the screen or disguise itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from llamanet.routing.view import NodeView

_INVISIBLE = frozenset(
    [*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x200B, 0x2010), *range(0x2028, 0x202F), 0xFEFF]
) | frozenset(range(0x2066, 0x206A))
_DROP = dict.fromkeys(_INVISIBLE)


def printable(text: str | None, limit: int = 128) -> str:
    """``text`` without control or invisible formatting characters, cut to ``limit`` characters."""
    clean = (text or "").translate(_DROP)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


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
        printable(node.short_id),
        printable(node.name, 64) or "-",
        printable(",".join(node.models), 256) or "-",
        f"{node.load:.2f} ({node.active_requests} active, {node.queue_depth} queued)",
        slots,
        f"{node.tokens_per_s:.1f}",
        fmt_uptime(node.uptime_s),
        printable(node.site, 64) or "-",
        printable(node.url, 256),
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
    parts += [
        f"  {printable(model)}: {len(ids)} node{'s' if len(ids) != 1 else ''}"
        for model, ids in counts.items()
    ]
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
    models = printable(",".join(node.models), 256) or "-"
    return (
        f"{printable(node.short_id)} {printable(node.name, 64) or '-'} ({models}) {printable(node.url, 256)}"
    )
