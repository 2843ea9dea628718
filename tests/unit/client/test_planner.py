"""The client's plan: routing's pipeline plus banned nodes as a last resort; bans keyed by node id."""

import random
from typing import Any

import pytest

from llamanet.client.errors import NodeUnavailableError, NoNodeAvailableError
from llamanet.client.planner import Planner
from llamanet.routing.view import NodeView, view_from_record, view_from_url
from llamanet_common.proofs import PROOF_PATH
from llamanet_common.status import parse_status
from tests.peerkeys import node_id, proof_json, record

GOOD = {"status": "ready", "slots_total": 4, "slots_free": 4}


class Listed:
    def __init__(self, nodes: list[NodeView]) -> None:
        self.nodes = nodes

    async def get_nodes(self, model: str | None = None, *, fresh: bool = False) -> list[NodeView]:
        return [n for n in self.nodes if n.serves(model)]

    def invalidate(self) -> None: ...

    async def close(self) -> None: ...


class Answers:
    def __init__(self, by_url: dict[str, Any], proofs: bool = True) -> None:
        self.by_url = by_url
        self.proofs = proofs
        self.calls: list[tuple[str, str, bool]] = []  # url, path, whether the API key went with it

    async def get_json(
        self,
        url: str,
        path: str,
        timeout: float | None = None,
        *,
        authorized: bool = False,
        params: Any = None,
    ) -> Any:
        self.calls.append((url, path, authorized))
        if path == PROOF_PATH:
            if not self.proofs:
                raise NodeUnavailableError(url, "HTTP 404")
            return proof_json(url.removeprefix("http://"), params["u"], params["c"])
        answer = self.by_url[url]
        if isinstance(answer, Exception):
            raise answer
        return answer


def node(c: str) -> NodeView:
    view = view_from_record(record(c))
    assert view is not None
    return view


def planner(nodes: list[NodeView], answers: dict[str, Any] | Answers) -> Planner:
    transport = answers if isinstance(answers, Answers) else Answers(answers)
    return Planner(Listed(nodes), transport, rng=random.Random(0), clock=lambda: 100.0)  # type: ignore[arg-type]


async def test_a_bad_status_drops_and_bans_the_node_by_its_id_and_banned_nodes_come_last() -> None:
    p = planner([node("a"), node("b"), node("c")], {"http://a": {"slots_total": 0}, "http://b": GOOD})
    p.bans.fail(node_id("c"), now=99.5)
    order, failures = await p.plan("m")
    assert [n.url for n in order] == ["http://b", "http://c"]  # c: banned, the last resort
    assert [url for url, _ in failures] == ["http://a"] and "bad /status" in failures[0][1]
    assert set(p.bans.snapshot(100.0)) == {node_id("a"), node_id("c")}


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


async def test_a_dht_node_gets_no_probe_and_no_key_until_its_url_proved_the_records_key() -> None:
    unproven = Answers({"http://a": GOOD}, proofs=False)
    order, failures = await planner([node("a")], unproven).plan("m")
    assert order == [] and "HTTP 404" in failures[0][1]
    assert unproven.calls == [("http://a", PROOF_PATH, False)]  # the challenge only, without the key
    proven = Answers({"http://a": GOOD})
    p = planner([node("a")], proven)
    order, _ = await p.plan("m")
    assert [n.url for n in order] == ["http://a"]
    assert proven.calls == [("http://a", PROOF_PATH, False), ("http://a", "/status", True)]
