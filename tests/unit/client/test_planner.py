"""The client's plan: routing's pipeline plus banned nodes as a last resort; bans keyed by node id."""

import random
from typing import Any

import pytest

from llamanet.client.errors import NodeUnavailableError, NoNodeAvailableError
from llamanet.client.planner import Planner
from llamanet.routing.view import NodeView, view_from_url
from llamanet_common.status import parse_status

GOOD = {"status": "ready", "slots_total": 4, "slots_free": 4}


class Listed:
    def __init__(self, nodes: list[NodeView]) -> None:
        self.nodes = nodes

    async def get_nodes(self, model: str | None = None, *, fresh: bool = False) -> list[NodeView]:
        return [n for n in self.nodes if n.serves(model)]

    def invalidate(self) -> None: ...

    async def close(self) -> None: ...


class Answers:
    def __init__(self, by_url: dict[str, Any]) -> None:
        self.by_url = by_url

    async def get_json(self, url: str, path: str, timeout: float | None = None) -> Any:
        answer = self.by_url[url]
        if isinstance(answer, Exception):
            raise answer
        return answer


def node(c: str) -> NodeView:
    return NodeView(url=f"http://{c}", node_id=c * 40, models=("m",), slots_total=4, slots_free=4)


def planner(nodes: list[NodeView], answers: dict[str, Any]) -> Planner:
    return Planner(Listed(nodes), Answers(answers), rng=random.Random(0), clock=lambda: 100.0)  # type: ignore[arg-type]


async def test_a_bad_status_drops_and_bans_the_node_by_its_id_and_banned_nodes_come_last() -> None:
    p = planner([node("a"), node("b"), node("c")], {"http://a": {"slots_total": 0}, "http://b": GOOD})
    p.bans.fail("c" * 40, now=99.5)
    order, failures = await p.plan("m")
    assert [n.url for n in order] == ["http://b", "http://c"]  # c: banned, the last resort
    assert [url for url, _ in failures] == ["http://a"] and "bad /status" in failures[0][1]
    assert set(p.bans.snapshot(100.0)) == {"a" * 40, "c" * 40}


async def test_a_fixed_url_node_is_banned_by_its_url() -> None:
    claimed = parse_status({**GOOD, "node_id": "z" * 40})  # its /status claims an id: not a ban key
    static = view_from_url("http://h:1").with_status(claimed)
    p = planner([static], {"http://h:1": NodeUnavailableError("http://h:1", "ConnectError")})
    order, failures = await p.plan(None)
    assert order == [] and failures == [("http://h:1", "ConnectError")]
    assert list(p.bans.snapshot(100.0)) == ["http://h:1"]


async def test_no_node_for_the_model() -> None:
    with pytest.raises(NoNodeAvailableError, match="no node found serving model 'x'"):
        await planner([], {}).plan("x")
