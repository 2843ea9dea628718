from llamanet.routing.decision import parse_hops, serve_locally, target_model
from llamanet.routing.view import NodeView


def peer(free: int) -> NodeView:
    return NodeView(url="http://a", node_id="a", models=("m",), slots_total=4, slots_free=free)


def test_target_model() -> None:
    assert target_model(None, "local") == "local"
    assert target_model("llamanet", "local") == "local"
    assert target_model("other", "local") == "other"


def test_serve_locally_rules() -> None:
    base = {"model": "m", "local_model": "m", "local_ready": True, "hops": 0, "max_hops": 2}
    assert serve_locally(**base, local_slots_free=1, others=[peer(1)])  # type: ignore[arg-type]
    assert not serve_locally(**base, local_slots_free=0, others=[peer(2)])  # type: ignore[arg-type]
    assert serve_locally(**base, local_slots_free=0, others=[peer(0)])  # type: ignore[arg-type]  # nobody better
    assert serve_locally(**{**base, "hops": 2}, local_slots_free=0, others=[peer(2)])  # type: ignore[arg-type]
    assert not serve_locally(**{**base, "model": "x"}, local_slots_free=4, others=[])  # type: ignore[arg-type]
    assert not serve_locally(**{**base, "local_ready": False}, local_slots_free=0, others=[])  # type: ignore[arg-type]


def test_parse_hops() -> None:
    assert parse_hops(None) == 0 and parse_hops("2") == 2
    assert parse_hops("-5") == 0 and parse_hops("lots") == 0
