"""Pure node selection: which nodes may serve a request, which two to probe, and in what order to try them.

Preference: nodes serving the model, ready, with a free slot, then the least queued + active requests
(the fresh ``/status`` of two random candidates beats the older DHT record: power-of-two choices).
Recently failed (banned) nodes come last, as a last resort, soonest-unbanned first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence

from llamanet.client.nodes import NodeInfo


def has_room(node: NodeInfo) -> bool:
    """A free slot, or unknown slot counts (a static node not yet probed)."""
    return node.slots_total == 0 or node.slots_free > 0


def rank_key(node: NodeInfo) -> tuple[bool, bool, int, float]:
    return (not node.ready, not has_room(node), node.load, -node.tokens_per_s)


def rank(nodes: Iterable[NodeInfo]) -> list[NodeInfo]:
    """Best first; ties keep their order (so a shuffled input spreads ties fairly)."""
    return sorted(nodes, key=rank_key)


def split_banned(
    nodes: Iterable[NodeInfo], model: str | None, is_banned: Callable[[str], bool]
) -> tuple[list[NodeInfo], list[NodeInfo]]:
    """Nodes serving ``model`` (one per URL), as (usable now, banned)."""
    seen: set[str] = set()
    usable: list[NodeInfo] = []
    banned: list[NodeInfo] = []
    for node in nodes:
        if node.url in seen or not node.serves(model):
            continue
        seen.add(node.url)
        (banned if is_banned(node.url) else usable).append(node)
    return usable, banned


def probe_targets(candidates: Sequence[NodeInfo], rng: random.Random, k: int = 2) -> list[NodeInfo]:
    """``k`` random candidates to probe, drawn from those that advertise a free slot if any do."""
    tier = [n for n in candidates if n.ready and has_room(n)] or list(candidates)
    return rng.sample(tier, min(k, len(tier)))


def order(
    candidates: Sequence[NodeInfo],
    probed: Mapping[str, NodeInfo],
    failed: Iterable[str] = (),
    banned: Sequence[NodeInfo] = (),
    ban_until: Callable[[str], float] = lambda _: 0.0,
) -> list[NodeInfo]:
    """The order to try nodes in: probed nodes by their fresh status, then the other candidates by
    their advertised load, then banned nodes. Nodes whose probe failed (``failed`` URLs) are left out,
    as are probed nodes that are not ready."""
    dropped = set(failed)
    fresh = rank(p for p in (probed.get(n.url) for n in candidates) if p is not None and p.ready)
    rest = rank(n for n in candidates if n.url not in probed and n.url not in dropped)
    last = sorted(banned, key=lambda n: ban_until(n.url))
    return [*fresh, *rest, *last]
