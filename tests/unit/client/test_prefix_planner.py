"""The client's prefix rule: the node a long prefix hashes to goes first, as the nodes choose it (by node
id), unless its load is above the bound; short prefixes keep the load order."""

import random
from dataclasses import replace

from llamanet.client.planner import Planner, by_prefix
from llamanet.routing.prefix import PrefixPolicy, prefix_key, ranked
from llamanet.routing.view import NodeView
from tests.unit.client.test_planner import GOOD, Answers, Listed, node

NODES = [node(c) for c in "abc"]
IDS = [n.node_id for n in NODES]


def text_owned_by(node_id: str, ids: list[str] = IDS) -> str:
    for i in range(1000):
        text = f"Tenant {i} system prompt. " * 30
        if ranked(prefix_key(text, 512) or "", ids)[0] == node_id:
            return text
    raise AssertionError("none found")


def test_the_prefix_node_goes_first_within_the_bound() -> None:
    text = text_owned_by(IDS[2])
    assert by_prefix(NODES, PrefixPolicy(), text)[0].node_id == IDS[2]
    assert by_prefix(NODES, PrefixPolicy(), text[:100]) == NODES  # too short: unchanged
    assert by_prefix(NODES, PrefixPolicy(enabled=False), text) == NODES
    busy = [NODES[0], NODES[1], replace(NODES[2], active_requests=4, slots_free=0)]
    assert by_prefix(busy, PrefixPolicy(), text)[0].node_id != IDS[2]


def test_fixed_url_nodes_hash_by_the_node_id_they_report() -> None:
    text = text_owned_by("b" * 40, [c * 40 for c in "abc"])
    static = [NodeView(url=f"http://{c}", node_id=c * 40, source="static", slots_total=4) for c in "abc"]
    assert by_prefix(static, PrefixPolicy(), text)[0].url == "http://b"


async def test_the_plan_puts_the_prefix_node_first() -> None:
    answers = {n.url: GOOD for n in NODES}
    p = Planner(
        Listed(NODES), Answers(answers), rng=random.Random(0), clock=lambda: 1.0, prefix=PrefixPolicy()
    )  # type: ignore[arg-type]
    for owner in IDS:
        order, _ = await p.plan("m", text_owned_by(owner))
        assert order[0].node_id == owner and len(order) == 3


def test_responses_carry_cached_tokens() -> None:
    from llamanet.client.responses import ChatResponse, GenerateResponse

    assert GenerateResponse.from_body({"cached_tokens": 7}, "u").cached_tokens == 7
    usage = {"usage": {"prompt_tokens": 9, "prompt_tokens_details": {"cached_tokens": 5}}}
    assert ChatResponse.from_body(usage, "u", "n").cached_tokens == 5
    assert ChatResponse.from_body({}, "u", "n").cached_tokens == 0
