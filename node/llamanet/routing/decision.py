"""What the router decides for a request: serve it here, or forward it to these candidates (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llamanet.routing.sites import EVERY_SITE, SitePolicy
from llamanet.routing.view import NodeView

# names that mean "whatever this node serves" (the seed's examples use "llamanet")
GENERIC_MODEL_NAMES = frozenset({"", "llamanet", "default"})


@dataclass(frozen=True)
class ServeHere:
    model: str


@dataclass(frozen=True)
class Forward:
    """Forward to ``candidates``; the router counts the request against the first until forwarded."""

    model: str
    candidates: tuple[NodeView, ...]  # best first; never empty
    hops: int  # how often the request was forwarded before reaching this node
    local_fallback: bool  # this node serves the model: serve here if every candidate fails
    sites: SitePolicy = EVERY_SITE  # the request's allowed sites; the forwarded request carries them


Decision = ServeHere | Forward


def target_model(requested: str | None, local_model: str) -> str:
    """The model a request is for: a generic name (or none) means the model this node serves."""
    if requested is None or requested in GENERIC_MODEL_NAMES:
        return local_model
    return requested


def parse_hops(header: str | None) -> int:
    """The hop count a forwarded request carries; absent or garbled counts as 0."""
    try:
        return max(0, int(header or "0"))
    except ValueError:
        return 0


def serve_locally(
    *,
    model: str,
    local_model: str,
    local_ready: bool,
    local_slots_free: int,
    hops: int,
    max_hops: int,
    others: Sequence[NodeView],
) -> bool:
    """Serve here when this node has the model and a free slot, or no peer could do better."""
    if model != local_model or not local_ready:
        return False
    if local_slots_free > 0 or hops >= max_hops:
        return True
    return not any(p.slots_free > 0 for p in others)
