import json

from llamanet.cli import swarm_view
from llamanet.routing.view import NodeView


def node(node_id: str, models: tuple[str, ...], **kw: object) -> NodeView:
    return NodeView(url=f"http://{node_id}:8000", node_id=node_id * 10, models=models, **kw)  # type: ignore[arg-type]


NODES = [
    node("a", ("smol",), name="alpha", slots_total=4, slots_free=3, active_requests=1, uptime_s=3700,
         tokens_per_s=42.25, site="lab", dht_address="10.0.0.1:8001", expires_at=130.0),
    node("b", ("smol", "gemma"), queue_depth=2),
]  # fmt: skip


def test_uptime_is_short_and_readable() -> None:
    assert [swarm_view.fmt_uptime(s) for s in (5, 65, 3700, 90000)] == ["5s", "1m05s", "1h01m", "1d01h"]


def test_table_has_a_row_per_node_and_counts_per_model() -> None:
    text = swarm_view.render_status(NODES)
    lines = text.splitlines()
    assert lines[0].split() == list(swarm_view.COLUMNS)
    assert "aaaaaaaa" in lines[1] and "alpha" in lines[1] and "3/4 free" in lines[1] and "42.2" in lines[1]
    assert "1h01m" in lines[1] and "lab" in lines[1] and "http://a:8000" in lines[1]
    assert "0.25 (1 active, 0 queued)" in lines[1]  # load: a fraction of the slots
    assert "smol,gemma" in lines[2] and "2.00 (0 active, 2 queued)" in lines[2]
    assert "2 nodes, 2 model(s)" in text
    assert "  gemma: 1 node" in lines and "  smol: 2 nodes" in lines


def test_json_has_the_swarm_nodes_shape() -> None:
    data = json.loads(json.dumps(swarm_view.status_json(NODES, now=100.0)))
    assert data["models"] == {"gemma": ["b" * 10], "smol": ["a" * 10, "b" * 10]}
    first = data["nodes"][0]
    assert (first["dht_host"], first["dht_port"], first["expires_in"]) == ("10.0.0.1", 8001, 30.0)
    assert first["urls"] == [] and first["slots_free"] == 3
    assert data["nodes"][1]["dht_port"] is None


def test_changes_report_joins_and_leaves() -> None:
    c = node("c", ("x",))
    diff = swarm_view.changes(NODES, [NODES[1], c])
    assert (diff.joined, diff.left) == ([c], [NODES[0]])
    assert swarm_view.changes(NODES, NODES) == swarm_view.Changes([], [])
    assert swarm_view.describe(c) == "cccccccc - (x) http://c:8000"


def test_peer_strings_lose_control_characters_before_the_terminal() -> None:
    # issue 16: a site name with terminal escape codes was printed as is by `llamanet status`
    evil = node(
        "e",
        ("smol\x1b[2J",),
        name="\x1b]0;owned\x07alpha",
        site="lab\u202e\x9b31m",
        uptime_s=1,
    )
    text = swarm_view.render_status([evil]) + swarm_view.describe(evil)
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text)
    assert "\u202e" not in text
    assert "alpha" in text and "lab31m" in text and "smol[2J" in text


def test_printable_cuts_long_values() -> None:
    assert swarm_view.printable("x" * 500, 10) == "x" * 9 + "…"
    assert swarm_view.printable(None) == ""
