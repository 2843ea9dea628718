import random

from llamanet.routing import selection
from llamanet.routing.view import NodeView, view_from_url


def node(key: str, **kw: object) -> NodeView:
    base: dict[str, object] = {"models": ("m",), "slots_total": 4, "slots_free": 4, "tokens_per_s": 10.0}
    base.update(kw)
    return NodeView(url=f"http://{key}", node_id=key, **base)  # type: ignore[arg-type]


def keys(views: list[NodeView]) -> list[str]:
    return [v.key for v in views]


def test_load_key_prefers_ready_then_free_slots_then_least_load_then_speed() -> None:
    views = [
        node("loading", ready=False),
        node("full", slots_free=0, active_requests=4),
        node("busy", queue_depth=2, active_requests=1, slots_free=3),
        node("idle-slow", tokens_per_s=10.0),
        node("idle-fast", tokens_per_s=50.0),
    ]
    ordered = sorted(views, key=selection.load_key)
    assert keys(ordered) == ["idle-fast", "idle-slow", "busy", "full", "loading"]


def test_load_is_a_fraction_of_slots() -> None:
    small_busy = node("small", slots_total=2, slots_free=1, active_requests=1)  # 0.5
    big_busier = node("big", slots_total=16, slots_free=13, active_requests=3)  # 0.19
    assert keys(selection.order([small_busy, big_busier], {})) == ["big", "small"]


def test_split_keeps_views_serving_the_model_once_by_key_and_separates_banned() -> None:
    views = [node("a"), node("b", models=("other",)), node("a"), node("c"), view_from_url("http://unknown")]
    usable, banned = selection.split(views, "m", lambda key: key == "c")
    assert keys(usable) == ["a", "http://unknown"]
    assert keys(banned) == ["c"]
    everything, _ = selection.split(views, None, lambda _: False)
    assert keys(everything) == ["a", "b", "c", "http://unknown"]


def test_residency_and_membership_filter_before_anything_else() -> None:
    rules = selection.Rules(
        residency=lambda v: v.site == "eu", membership=lambda v: not v.key.startswith("x")
    )
    views = [node("a", site="eu"), node("b", site="us"), node("xa", site="eu"), node("c", site="eu")]
    usable, banned = selection.split(views, "m", lambda key: key == "c", rules)
    assert keys(usable) == ["a"] and keys(banned) == ["c"]


def test_prefix_then_site_come_before_load() -> None:
    idle, busy, remote = node("idle"), node("busy", active_requests=3, slots_free=1), node("remote")
    by_site = selection.Rules(site=lambda v: 0.0 if v.key != "remote" else 1.0)
    assert keys(selection.order([remote, busy, idle], {}, rules=by_site)) == ["idle", "busy", "remote"]
    by_prefix = selection.Rules(prefix=lambda v: 0.0 if v.key == "remote" else 1.0, site=by_site.site)
    assert keys(selection.order([remote, busy, idle], {}, rules=by_prefix))[0] == "remote"


def test_probe_targets_are_two_random_views_with_room_when_there_are_any() -> None:
    views = [node("full", slots_free=0), node("a"), node("b"), node("c")]
    seen: set[str] = set()
    for seed in range(30):
        picked = selection.probe_targets(views, random.Random(seed))
        assert len(picked) == 2 and len(set(keys(picked))) == 2
        seen.update(keys(picked))
    assert seen == {"a", "b", "c"}  # random over the tier with room, never the full node
    everyone_full = [node("x", slots_free=0), node("y", slots_free=0)]
    assert set(keys(selection.probe_targets(everyone_full, random.Random(0)))) == {"x", "y"}
    assert selection.probe_targets([], random.Random(0)) == []


def test_order_puts_the_fresher_less_loaded_probe_first_then_the_rest() -> None:
    candidates = [node("a"), node("b"), node("c", queue_depth=1), node("d")]
    # The record said a and b were idle, but the probes show a is busy now: b wins the power-of-two choice.
    probed = {
        "a": node("a", active_requests=4, slots_free=0),
        "b": node("b", active_requests=1, slots_free=3),
    }
    plan = selection.order(candidates, probed, failed=["d"])
    assert keys(plan) == ["b", "a", "c"]  # d failed its probe: left out
    assert plan[0].active_requests == 1  # the fresh view, not the record


def test_order_drops_probed_views_that_are_not_ready() -> None:
    assert keys(selection.order([node("a"), node("b")], {"a": node("a", ready=False)})) == ["b"]


def test_requests_in_flight_count_as_load() -> None:
    a, b = node("a", slots_free=2, slots_total=2), node("b", slots_free=1, slots_total=2, active_requests=1)
    assert keys(selection.order([a, b], {"a": a, "b": b})) == ["a", "b"]
    assert keys(selection.order([a, b], {"a": a, "b": b}, inflight={"a": 2})) == ["b", "a"]


def test_last_resort_is_the_soonest_unbanned_first() -> None:
    until = {"late": 30.0, "soon": 10.0}
    assert keys(selection.last_resort([node("late"), node("soon")], until.__getitem__)) == ["soon", "late"]
