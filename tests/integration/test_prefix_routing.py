"""Prefix routing in a real 3-node SmolLM2 swarm: requests sharing a long system prompt, sent to one entry
node, all land on the node that prompt hashes to (rendezvous hashing of the node ids), so different
prompts spread over the nodes, and that node's prompt cache serves them (``cached_tokens``, ``/metrics``);
an entry node with ``--prefix-routing off`` serves the same requests by load (here: itself, it is idle).
The client applies the same rule."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llamanet.client import Client
from llamanet.routing.prefix import chat_text, prefix_key, ranked
from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = [pytest.mark.model, pytest.mark.slow]
ARGS = ("--n-ctx", "1024", "--n-parallel", "2", "--heartbeat-interval", "1", "--prefix-holdings", "on")
USERS = ("Name a color.", "Name a fruit.", "Name a city.")


def node_id(node: NodeProcess) -> str:
    return httpx.get(f"{node.url}/status", timeout=10).json()["node_id"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def swarm(
    node_logs: Path, model_cache: object, request: pytest.FixtureRequest
) -> Iterator[list[NodeProcess]]:
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    a = nodes.start(SMOL, *ARGS, name="pa")
    boot = ("--bootstrap-nodes", f"127.0.0.1:{a.dht_port}")
    b = nodes.start(SMOL, *ARGS, *boot, name="pb")
    c = nodes.start(SMOL, *ARGS, *boot, "--prefix-routing", "off", name="pc")
    members = [a, b, c]
    ids = {node_id(n) for n in members}
    deadline = time.monotonic() + 60
    while not all(
        {v["node_id"] for v in httpx.get(f"{n.url}/swarm/nodes", timeout=10).json()["nodes"]} >= ids
        for n in members
    ):
        assert time.monotonic() < deadline, "the nodes never saw each other"
        time.sleep(0.3)
    yield members
    nodes.stop_all(request.session.testsfailed > failed_before)


def system_prompts(ids: list[str]) -> dict[str, str]:
    """One long system prompt owned by each node (its chats' prefix hashes to that node first)."""
    found: dict[str, str] = {}
    for i in range(10_000):
        system = f"You are assistant number {i} of the prefix test. Answer in one word. " * 10
        key = prefix_key(chat_text([("system", system), ("user", USERS[0])], 512), 512)
        assert key is not None and len(system) > 512
        found.setdefault(ranked(key, ids)[0], system)
        if len(found) == len(ids):
            return found
    raise AssertionError("no prompts found")


def chat(entry: NodeProcess, system: str, user: str) -> tuple[str, int]:
    body = {
        "model": SMOL,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "max_tokens": 4,
        "temperature": 0,
    }
    r = httpx.post(f"{entry.url}/v1/chat/completions", json=body, timeout=300)
    assert r.status_code == 200, r.text
    cached = r.json()["usage"].get("prompt_tokens_details", {}).get("cached_tokens", 0)
    # a forwarded answer names the node that served it; the entry node's own answers do not
    return r.headers.get("x-llamanet-node") or node_id(entry), cached


def test_requests_sharing_a_prompt_land_on_its_node_and_prompts_spread(swarm: list[NodeProcess]) -> None:
    a = swarm[0]
    ids = [node_id(n) for n in swarm]
    prompts = system_prompts(ids)
    for owner, system in prompts.items():
        served = [chat(a, system, user) for user in USERS]
        assert [who for who, _ in served] == [owner] * len(USERS), (owner[:8], served)
        assert all(cached > 0 for _, cached in served[1:]), served  # its prompt cache served the rest
    # the three prompts went to the three nodes, although the entry node had a free slot each time


def test_a_burst_on_one_prompt_is_spread_by_the_load_bound(swarm: list[NodeProcess]) -> None:
    a = swarm[0]
    ids = [node_id(n) for n in swarm]
    owner, system = next((o, s) for o, s in system_prompts(ids).items() if o != ids[0])
    body = {"model": SMOL, "max_tokens": 8, "temperature": 0}

    async def one(client: httpx.AsyncClient, i: int) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": f"Count to {i}."}]
        r = await client.post(f"{a.url}/v1/chat/completions", json={**body, "messages": messages})
        assert r.status_code == 200, r.text
        return r.headers.get("x-llamanet-node") or ids[0]

    async def main() -> list[str]:
        async with httpx.AsyncClient(timeout=300) as client:
            return await asyncio.gather(*(one(client, i) for i in range(6)))

    served = asyncio.run(main())
    # 6 at once on 3 nodes of 2 slots: the owner takes its share, the bound (e = 0.25) sends the rest on
    assert owner in served and len(set(served)) >= 2, served


def test_with_prefix_routing_off_the_entry_node_routes_by_load(swarm: list[NodeProcess]) -> None:
    c = swarm[2]
    c_id = node_id(c)
    prompts = system_prompts([node_id(n) for n in swarm])
    served = [chat(c, system, USERS[1])[0] for system in prompts.values()]
    assert served == [c_id] * len(prompts)  # idle with a free slot: it serves them itself


def test_native_final_event_and_metrics_report_cached_tokens(swarm: list[NodeProcess]) -> None:
    a = swarm[0]
    prompt = "Background for the question below. " * 20 + "Question: name a color."
    body = {"model": SMOL, "prompt": prompt, "max_tokens": 4, "temperature": 0}
    first = httpx.post(f"{a.url}/generate", json=body, timeout=300).json()
    second = httpx.post(f"{a.url}/generate", json=body, timeout=300).json()
    assert first["node_id"] == second["node_id"]  # the same prefix went to the same node
    assert second["cached_tokens"] > 0 and second["cached_tokens"] < second["prompt_tokens"]
    owner = next(n for n in swarm if node_id(n) == second["node_id"])
    metrics = httpx.get(f"{owner.url}/metrics", timeout=10).text
    cached = next(ln for ln in metrics.splitlines() if ln.startswith("llamanet_prompt_cached_tokens_total"))
    assert float(cached.split()[-1]) >= second["cached_tokens"]
    assert 'llamanet_prompt_cache_requests_total{result="hit"}' in metrics


def test_a_chats_next_turn_follows_its_history_not_the_prompts_owner(swarm: list[NodeProcess]) -> None:
    a, _, c = swarm
    ids = [node_id(n) for n in swarm]
    system = system_prompts(ids)[ids[1]]  # owned by b
    # questions no other test asks: b has served other chats on this prompt, but not this one
    first = [{"role": "system", "content": system}, {"role": "user", "content": "Name an animal."}]
    body = {"model": SMOL, "max_tokens": 4, "temperature": 0}
    # the first turn reaches c, which routes by load: it serves it (an overflow, as far as b goes)
    r = httpx.post(f"{c.url}/v1/chat/completions", json={**body, "messages": first}, timeout=300)
    assert r.status_code == 200 and "x-llamanet-node" not in r.headers, r.text
    answer = r.json()["choices"][0]["message"]["content"]
    assert len(httpx.get(f"{c.url}/status", timeout=10).json()["prefixes"]) >= 1  # c says it holds it
    # the next turn reaches a, whose prefix rule would send it to b: c holds its history, and has room
    second = [*first, {"role": "assistant", "content": answer}, {"role": "user", "content": "Name a river."}]
    r = httpx.post(f"{a.url}/v1/chat/completions", json={**body, "messages": second}, timeout=300)
    assert r.status_code == 200, r.text
    assert r.headers.get("x-llamanet-node") == ids[2], r.headers
    usage = r.json()["usage"]  # c's cache held the whole first turn: only the new messages evaluated
    assert usage["prompt_tokens_details"]["cached_tokens"] >= usage["prompt_tokens"] - 40, usage
    # a chat that no node served before still goes to its prompt's owner
    assert chat(a, system, "Name a mountain.")[0] == ids[1]


def records_idle(swarm: list[NodeProcess]) -> None:
    """Waits (30 s at most) until every node's published record shows it idle: the client reads loads
    from the records (cached for 5 s), and a record from the moment a node was serving the previous
    test's request counts against that node's bounded load."""
    deadline = time.monotonic() + 30
    while True:
        records = httpx.get(f"{swarm[0].url}/swarm/nodes", timeout=10).json()["nodes"]
        if len(records) >= len(swarm) and not any(r["active_requests"] or r["queue_depth"] for r in records):
            return
        assert time.monotonic() < deadline, f"the nodes' records never showed them idle: {records}"
        time.sleep(0.2)


def test_the_client_sends_a_prefix_to_its_node_itself(swarm: list[NodeProcess]) -> None:
    ids = [node_id(n) for n in swarm]
    records_idle(swarm)

    async def main() -> list[str]:
        client = Client(bootstrap_nodes=f"127.0.0.1:{swarm[0].dht_port}", model=SMOL)
        try:
            out = []
            for system in system_prompts(ids).values():
                messages = [{"role": "system", "content": system}, {"role": "user", "content": USERS[2]}]
                response = await client.chat(messages, max_tokens=4, temperature=0)
                out.append(response.node_id)  # the node the client sent it to
                assert response.cached_tokens > 0  # reported through (its slots hold earlier chats)
            return out
        finally:
            await client.close()

    assert asyncio.run(main()) == list(system_prompts(ids))
