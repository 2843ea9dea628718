"""Pure routing decisions."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from llamanet.routing.peers import Peer

# names that mean "whatever this node serves" (the seed's examples use "llamanet")
GENERIC_MODEL_NAMES = frozenset({"", "llamanet", "default"})


def target_model(requested: str | None, local_model: str) -> str:
    """The model a request is for: a generic name (or none) means the model this node serves."""
    if requested is None or requested in GENERIC_MODEL_NAMES:
        return local_model
    return requested


def serve_locally(
    *,
    model: str,
    local_model: str,
    local_ready: bool,
    local_slots_free: int,
    hops: int,
    max_hops: int,
    others: Sequence[Peer],
) -> bool:
    """Serve here when this node has the model and a free slot, or no peer could do better."""
    if model != local_model or not local_ready:
        return False
    if local_slots_free > 0 or hops >= max_hops:
        return True
    return not any(p.slots_free > 0 for p in others)


def sample_pair(candidates: Sequence[Peer], rng: random.Random) -> list[Peer]:
    """Two random candidates to probe (power of two choices), or all when there are fewer."""
    return list(candidates) if len(candidates) <= 2 else rng.sample(list(candidates), 2)


def order_candidates(
    candidates: Sequence[Peer], probed: Sequence[Peer], inflight: Mapping[str, int] | None = None
) -> list[Peer]:
    """Probed peers first (fresh state), best first; then the rest by their advertised load.

    Best: has a free slot, then least load, then fastest. ``inflight`` counts the requests this
    node is forwarding to each peer, which no probe or record shows yet: without it, requests that
    arrive together all see the same state and pile onto one peer.
    """
    sent = inflight or {}

    def key(p: Peer) -> tuple[bool, float, float]:
        mine = sent.get(p.node_id, 0)
        return (p.slots_free - mine <= 0, p.load + mine / p.slots_total, -p.tokens_per_s)

    probed_ids = {p.node_id for p in probed}
    rest = [p for p in candidates if p.node_id not in probed_ids]
    return sorted(probed, key=key) + sorted(rest, key=key)
