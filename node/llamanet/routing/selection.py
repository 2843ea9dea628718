"""Pure node selection, one pipeline for the node's router and the client.

The pipeline, in order (each stage is a function here; ``Rules`` holds the hooks later rules plug into):

1. ``split``: the views that serve the model, one per ``NodeView.key``, as (usable now, banned).
2. Hard filters, in this order: **residency** (the sites a request may use) and **membership** (only
   proven members of the swarm). Today both admit every node.
3. ``probe_targets``: two random usable candidates, among those advertising room if any do (power of
   two choices); their fresh ``/status`` beats the older record.
4. ``order``: probed views first, then the others by their advertised state; within each tier sorted by
   the preferences, in this order: **prefix** (``routing.prefix``: the node a request's prefix hashes to,
   unless it is above the bounded load; the entry node's router chooses it before ordering, probing
   that node alone, and passes it as ``Rules.prefix``; the client moves it first), then **load**
   (``load_key``: ready, a free slot, least load, fastest) with the **site** preference added to the
   load (``sites.prefer_site``: this node's site counts a margin less, so it goes first when loads
   differ by less than the margin). Requests this caller is already sending to a node (``inflight``)
   count as load no probe or record shows yet.
5. ``last_resort``: banned views, soonest unbanned first (the client tries them when all else failed).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from llamanet.routing.view import NodeView
from llamanet_common.status import slot_load

Filter = Callable[[NodeView], bool]
Preference = Callable[[NodeView], float]  # lower goes first


def admit_all(_: NodeView) -> bool:
    return True


def indifferent(_: NodeView) -> float:
    return 0.0


@dataclass(frozen=True)
class Rules:
    """The hooks of the pipeline, in the order they apply; the defaults change nothing."""

    residency: Filter = admit_all
    membership: Filter = admit_all
    prefix: Preference = indifferent
    site: Preference = indifferent  # added to the load: a negative value is a discount


DEFAULT_RULES = Rules()


def split(
    views: Iterable[NodeView],
    model: str | None,
    is_banned: Callable[[str], bool],
    rules: Rules = DEFAULT_RULES,
) -> tuple[list[NodeView], list[NodeView]]:
    """Views serving ``model`` that pass the hard filters, one per key, as (usable now, banned)."""
    seen: set[str] = set()
    usable: list[NodeView] = []
    banned: list[NodeView] = []
    for view in views:
        if view.key in seen or not view.serves(model):
            continue
        if not (rules.residency(view) and rules.membership(view)):
            continue
        seen.add(view.key)
        (banned if is_banned(view.key) else usable).append(view)
    return usable, banned


def probe_targets(candidates: Sequence[NodeView], rng: random.Random, k: int = 2) -> list[NodeView]:
    """``k`` random candidates to probe, drawn from those that advertise a free slot if any do."""
    tier = [v for v in candidates if v.ready and v.has_room] or list(candidates)
    return rng.sample(tier, min(k, len(tier)))


def load_key(view: NodeView, sending: int = 0) -> tuple[bool, bool, float, float]:
    """The last preference: ready, then a free slot left after ``sending``, then least load, then fastest."""
    room = view.slots_total == 0 or view.slots_free - sending > 0
    load = slot_load(view.active_requests + sending, view.queue_depth, view.slots_total)
    return (not view.ready, not room, load, -view.tokens_per_s)


def order(
    candidates: Sequence[NodeView],
    probed: Mapping[str, NodeView],
    failed: Iterable[str] = (),
    *,
    inflight: Mapping[str, int] | None = None,
    rules: Rules = DEFAULT_RULES,
) -> list[NodeView]:
    """Probed views (by key) first, best first, then the rest; views whose probe failed (``failed``
    keys) and probed views that are not ready are left out. Ties keep their order."""
    sent = inflight or {}

    def key(v: NodeView) -> tuple[float, bool, bool, float, float]:
        not_ready, no_room, load, speed = load_key(v, sent.get(v.key, 0))
        return (rules.prefix(v), not_ready, no_room, load + rules.site(v), speed)

    dropped = set(failed)
    fresh = [p for p in (probed.get(v.key) for v in candidates) if p is not None and p.ready]
    rest = [v for v in candidates if v.key not in probed and v.key not in dropped]
    return sorted(fresh, key=key) + sorted(rest, key=key)


def last_resort(banned: Iterable[NodeView], ban_until: Callable[[str], float]) -> list[NodeView]:
    """Banned views, the soonest unbanned first."""
    return sorted(banned, key=lambda v: ban_until(v.key))
