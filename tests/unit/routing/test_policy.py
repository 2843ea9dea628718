import random

from llamanet.routing import policy
from llamanet.routing.peers import Peer


def peer(i: str, free: int = 1, active: int = 0, queue: int = 0, tps: float = 10.0) -> Peer:
    return Peer(
        node_id=i,
        url=f"http://{i}",
        models=("m",),
        slots_total=4,
        slots_free=free,
        active_requests=active,
        queue_depth=queue,
        tokens_per_s=tps,
    )


def test_target_model() -> None:
    assert policy.target_model(None, "local") == "local"
    assert policy.target_model("llamanet", "local") == "local"
    assert policy.target_model("other", "local") == "other"


def test_serve_locally_rules() -> None:
    base = {"model": "m", "local_model": "m", "local_ready": True, "hops": 0, "max_hops": 2}
    assert policy.serve_locally(**base, local_slots_free=1, others=[peer("a")])
    assert not policy.serve_locally(**base, local_slots_free=0, others=[peer("a", free=2)])
    assert policy.serve_locally(**base, local_slots_free=0, others=[peer("a", free=0)])  # nobody better
    assert policy.serve_locally(**{**base, "hops": 2}, local_slots_free=0, others=[peer("a", free=2)])
    assert not policy.serve_locally(**{**base, "model": "x"}, local_slots_free=4, others=[])
    assert not policy.serve_locally(**{**base, "local_ready": False}, local_slots_free=0, others=[])


def test_order_prefers_probed_then_free_then_least_loaded() -> None:
    a, b, c, d = peer("a", free=0, active=4), peer("b", active=1), peer("c", active=3), peer("d", active=0)
    ordered = policy.order_candidates([a, b, c, d], probed=[c, a])
    assert [p.node_id for p in ordered] == ["c", "a", "d", "b"]


def test_sample_pair() -> None:
    rng = random.Random(1)
    peers = [peer(str(i)) for i in range(5)]
    pair = policy.sample_pair(peers, rng)
    assert len(pair) == 2 and len({p.node_id for p in pair}) == 2
    assert policy.sample_pair(peers[:1], rng) == peers[:1]


def test_peer_with_status() -> None:
    p = peer("a").with_status(
        {"slots_total": 8, "slots_free": 3, "queue_depth": 1, "active_requests": 5, "tokens_per_second": 99.0}
    )
    assert (p.slots_total, p.slots_free, p.queue_depth, p.active_requests, p.tokens_per_s) == (
        8,
        3,
        1,
        5,
        99.0,
    )
    assert p.load == 6 / 8


def test_inflight_forwards_count_as_load() -> None:
    a, b = peer("a", free=2, active=0), peer("b", free=2, active=1)
    assert [p.node_id for p in policy.order_candidates([a, b], [a, b])] == ["a", "b"]
    assert [p.node_id for p in policy.order_candidates([a, b], [a, b], {"a": 2})] == ["b", "a"]
