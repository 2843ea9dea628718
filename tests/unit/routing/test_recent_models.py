from llamanet.routing.recent_models import RecentModels


def test_a_model_is_remembered_for_its_window_only() -> None:
    recent = RecentModels(remember_s=10.0)
    recent.saw(["m"], now=100.0)
    assert recent.seen_ago("m", now=105.0) == 5.0
    assert recent.seen_ago("m", now=111.0) is None
    assert recent.seen_ago("other", now=100.0) is None


def test_it_is_bounded_least_recently_seen_first() -> None:
    recent = RecentModels(max_models=2)
    recent.saw(["a", "b"], now=1.0)
    recent.saw(["a"], now=2.0)  # a seen again: b is now the oldest
    recent.saw(["c"], now=3.0)
    assert recent.seen_ago("b", now=3.0) is None
    assert recent.seen_ago("a", now=3.0) == 1.0 and recent.seen_ago("c", now=3.0) == 0.0
