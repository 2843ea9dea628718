"""``plan``: the candidates for a request, best first, for the node's router and the client alike.

The I/O of the selection pipeline (``selection``): fresh ``/status`` probes of two candidates, whose
answers are validated (``parse_status``); a node whose probe fails, whose answer is not a valid
``NodeStatus`` (``slots_total: 0``, wrong types ...) or that is not ready is banned and left out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llamanet.routing import selection
from llamanet.routing.bans import BanList
from llamanet.routing.errors import ProbeFailedError
from llamanet.routing.view import NodeView
from llamanet_common.status import BadStatusError, parse_status

# GET /status of a node: the decoded JSON, or ProbeFailedError
FetchStatus = Callable[[NodeView], Awaitable[Any]]


@dataclass
class Plan:
    order: list[NodeView]
    failures: list[tuple[NodeView, str]] = field(default_factory=list)  # probes that failed, and why
    banned: list[NodeView] = field(default_factory=list)  # left out of ``order``: failed moments ago


async def probe(view: NodeView, fetch: FetchStatus) -> NodeView | str:
    """``view`` updated by its validated ``/status``, or the reason it cannot be used."""
    try:
        status = parse_status(await fetch(view))
    except (ProbeFailedError, BadStatusError) as exc:
        return str(exc)
    return view.with_status(status) if status.ready else f"not ready ({status.status})"


async def plan(
    views: Sequence[NodeView],
    model: str | None,
    *,
    fetch: FetchStatus | None,
    bans: BanList,
    now: float,
    rng: random.Random,
    inflight: Mapping[str, int] | None = None,
    rules: selection.Rules = selection.DEFAULT_RULES,
    probe_alone: bool = False,
) -> Plan:
    """Eligible views, two of them probed when there is a choice (``fetch`` None: never), in order.

    ``probe_alone`` probes a lone candidate too: the client does (it learns that a node is down or
    refuses its key before it sends the request); the node's router does not (one round trip saved).
    """
    usable, banned = selection.split(views, model, lambda key: bans.is_banned(key, now), rules)
    rng.shuffle(usable)  # spread ties
    probed: dict[str, NodeView] = {}
    failures: list[tuple[NodeView, str]] = []
    if fetch is not None and len(usable) > (0 if probe_alone else 1):
        targets = selection.probe_targets(usable, rng)
        results = await asyncio.gather(*(probe(v, fetch) for v in targets))
        for view, result in zip(targets, results, strict=True):
            if isinstance(result, NodeView):
                probed[view.key] = result
            else:
                bans.fail(view.key, now)
                failures.append((view, result))
    failed = [v.key for v, _ in failures]
    return Plan(selection.order(usable, probed, failed, inflight=inflight, rules=rules), failures, banned)
