import random

from llamanet.client import selection
from llamanet.client.nodes import NodeInfo


def node(url: str, **kw: object) -> NodeInfo:
    base: dict[str, object] = {"models": ("m",), "slots_total": 4, "slots_free": 4}
    base.update(kw)
    return NodeInfo(url=url, node_id=url, **base)  # type: ignore[arg-type]


def urls(nodes: list[NodeInfo]) -> list[str]:
    return [n.url for n in nodes]


def test_rank_prefers_ready_then_free_slots_then_least_load_then_speed() -> None:
    nodes = [
        node("loading", ready=False),
        node("full", slots_free=0),
        node("busy", queue_depth=2, active_requests=1),
        node("idle-slow", tokens_per_s=10.0),
        node("idle-fast", tokens_per_s=50.0),
    ]
    assert urls(selection.rank(nodes)) == ["idle-fast", "idle-slow", "busy", "full", "loading"]


def test_unknown_slot_counts_count_as_room() -> None:
    assert selection.has_room(NodeInfo(url="static"))
    assert not selection.has_room(node("full", slots_free=0))


def test_split_keeps_nodes_serving_the_model_once_and_separates_banned() -> None:
    nodes = [node("a"), node("b", models=("other",)), node("a"), node("c"), NodeInfo(url="unknown-models")]
    usable, banned = selection.split_banned(nodes, "m", lambda url: url == "c")
    assert urls(usable) == ["a", "unknown-models"]
    assert urls(banned) == ["c"]
    everything, _ = selection.split_banned(nodes, None, lambda _: False)
    assert urls(everything) == ["a", "b", "c", "unknown-models"]


def test_probe_targets_are_two_random_nodes_with_room_when_there_are_any() -> None:
    nodes = [node("full", slots_free=0), node("a"), node("b"), node("c")]
    seen: set[str] = set()
    for seed in range(30):
        picked = selection.probe_targets(nodes, random.Random(seed))
        assert len(picked) == 2 and len(set(urls(picked))) == 2
        seen.update(urls(picked))
    assert seen == {"a", "b", "c"}  # random over the tier with room, never the full node
    everyone_full = [node("x", slots_free=0), node("y", slots_free=0)]
    assert set(urls(selection.probe_targets(everyone_full, random.Random(0)))) == {"x", "y"}
    assert urls(selection.probe_targets([node("only")], random.Random(0))) == ["only"]
    assert selection.probe_targets([], random.Random(0)) == []


def test_order_puts_the_fresher_less_loaded_probe_first_then_the_rest_then_banned() -> None:
    candidates = [node("a"), node("b"), node("c", queue_depth=1), node("d")]
    # The DHT said a and b were idle, but the probes show a is busy now: b wins the power-of-two choice.
    probed = {"a": node("a", active_requests=4, slots_free=0), "b": node("b", active_requests=1)}
    banned = [node("late"), node("soon")]
    until = {"late": 30.0, "soon": 10.0}
    plan = selection.order(candidates, probed, failed=["d"], banned=banned, ban_until=until.__getitem__)
    assert urls(plan) == ["b", "a", "c", "soon", "late"]  # d failed its probe: left out
    assert plan[0].active_requests == 1  # the fresh view, not the record


def test_order_drops_probed_nodes_that_are_not_ready() -> None:
    plan = selection.order([node("a"), node("b")], {"a": node("a", ready=False)})
    assert urls(plan) == ["b"]
