"""A real 4-node swarm (2 x SmolLM2, 2 x Gemma 3) over real UDP on loopback: discovery, routing from
any node, load spreading, failover when a node is killed, and swarm-secret membership."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.nodeproc import NodeProcess
from tests.swarmrecords import wait_for

pytestmark = [pytest.mark.model, pytest.mark.slow]
HEARTBEAT = 1.0
SWARM_ARGS = ("--n-ctx", "512", "--n-parallel", "4", "--heartbeat-interval", str(HEARTBEAT))


def swarm_view(node: NodeProcess) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{node.url}/swarm/nodes", timeout=10).json()  # type: ignore[no-any-return]


def node_ids(node: NodeProcess) -> set[str]:
    return {n["node_id"] for n in swarm_view(node)["nodes"]}


def own_id(node: NodeProcess) -> str:
    return httpx.get(f"{node.url}/status", timeout=10).json()["node_id"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def swarm(
    node_logs: Path, model_cache: object, request: pytest.FixtureRequest
) -> Iterator[dict[str, NodeProcess]]:
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    a = nodes.start(SMOL, *SWARM_ARGS, name="a")
    b = nodes.start(
        SMOL,
        *SWARM_ARGS,
        "--bootstrap-nodes",
        f"127.0.0.1:{a.dht_port}",
        "--node-key-file",
        str(node_logs / "b.key"),
        name="b",
    )
    c = nodes.start(GEMMA, *SWARM_ARGS, "--bootstrap-nodes", f"localhost:{a.dht_port}", name="c")
    d = nodes.start(GEMMA, *SWARM_ARGS, "--bootstrap-nodes", f"localhost:{b.dht_port}", name="d")
    members = {"a": a, "b": b, "c": c, "d": d}
    ids = {own_id(n) for n in members.values()}
    wait_for(lambda: all(node_ids(n) >= ids for n in members.values()), 30, "every node to see all four")
    yield members
    nodes.stop_all(request.session.testsfailed > failed_before)


def test_every_model_discoverable_from_every_node(swarm: dict[str, NodeProcess]) -> None:
    for node in swarm.values():
        models = {
            m["id"]: m["meta"]["nodes"] for m in httpx.get(f"{node.url}/v1/models", timeout=10).json()["data"]
        }
        assert set(models) == {SMOL, GEMMA}
        assert len(models[SMOL]) == 2 and len(models[GEMMA]) == 2
    dht = httpx.get(f"{swarm['a'].url}/dht/status", timeout=10).json()
    assert len(dht["peers"]) >= 3


@pytest.mark.parametrize("stream", [False, True])
def test_other_model_is_answered_by_a_node_that_serves_it(
    swarm: dict[str, NodeProcess], stream: bool
) -> None:
    gemma_ids = {own_id(swarm["c"]), own_id(swarm["d"])}
    client = openai.OpenAI(base_url=f"{swarm['a'].url}/v1", api_key="x", max_retries=0)
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    if stream:
        raw = client.chat.completions.with_raw_response.create(
            model=GEMMA, messages=messages, max_tokens=20, temperature=0, stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    else:
        raw = client.chat.completions.with_raw_response.create(
            model=GEMMA, messages=messages, max_tokens=20, temperature=0
        )
        text = raw.parse().choices[0].message.content or ""
    assert raw.headers["x-llamanet-node"] in gemma_ids
    assert "Paris" in text
    native = httpx.post(
        f"{swarm['b'].url}/generate",
        json={"prompt": "Who wrote Hamlet?", "model": GEMMA, "max_tokens": 12, "temperature": 0},
        timeout=120,
    )
    assert native.status_code == 200 and native.json()["node_id"] in gemma_ids


def test_native_stream_is_forwarded(swarm: dict[str, NodeProcess]) -> None:
    with httpx.stream(
        "POST",
        f"{swarm['c'].url}/generate/stream",
        timeout=120,
        json={"prompt": "Name a color.", "model": SMOL, "max_tokens": 16},
    ) as r:
        lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
        assert r.headers["x-llamanet-node"] in {own_id(swarm["a"]), own_id(swarm["b"])}
    assert '"finished":true' in lines[-1]


def test_unknown_model_names_the_swarm_models(swarm: dict[str, NodeProcess]) -> None:
    r = httpx.post(
        f"{swarm['a'].url}/v1/chat/completions",
        timeout=30,
        json={"model": "llama-99b", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 404
    assert SMOL in r.json()["error"]["message"] and GEMMA in r.json()["error"]["message"]


def test_hop_limit(swarm: dict[str, NodeProcess]) -> None:
    r = httpx.post(
        f"{swarm['a'].url}/generate",
        headers={"x-llamanet-hops": "2"},
        timeout=30,
        json={"prompt": "hi", "model": GEMMA, "max_tokens": 4},
    )
    assert r.status_code == 508 and r.json()["error"]["code"] == "hop_limit"


def test_sixteen_concurrent_requests_spread_over_the_model_nodes(swarm: dict[str, NodeProcess]) -> None:
    async def one(client: httpx.AsyncClient, i: int) -> str:
        r = await client.post(
            f"{swarm['c'].url}/v1/completions", json={"model": SMOL, "prompt": f"Fact {i}:", "max_tokens": 24}
        )
        assert r.status_code == 200, r.text
        return r.headers["x-llamanet-node"]

    async def main() -> list[str]:
        async with httpx.AsyncClient(timeout=300) as client:
            return await asyncio.gather(*(one(client, i) for i in range(16)))

    served = Counter(asyncio.run(main()))
    assert set(served) == {own_id(swarm["a"]), own_id(swarm["b"])}, served


def status(node: NodeProcess) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{node.url}/status", timeout=10).json()  # type: ignore[no-any-return]


def test_kill_9_during_load_then_restart(swarm: dict[str, NodeProcess]) -> None:
    b = swarm["b"]
    b_id = own_id(b)
    results: list[int] = []
    in_flight_on_b: list[int] = []

    async def one(client: httpx.AsyncClient, entry: NodeProcess, i: int) -> None:
        r = await client.post(
            f"{entry.url}/generate",
            json={"model": SMOL, "prompt": f"Story {i}:", "max_tokens": 48, "raw": True},
        )
        results.append(r.status_code)

    async def main() -> None:
        # a load of 12 over 8 slots reaches b unless the entry nodes' views of b lag (a previous test's
        # load can leave its record showing no room for a while): then another load, 3 at most
        async with httpx.AsyncClient(timeout=300) as client:
            for load in range(3):
                entries = [swarm["c" if i % 2 else "d"] for i in range(12)]
                tasks = [asyncio.create_task(one(client, e, 12 * load + i)) for i, e in enumerate(entries)]
                while not (busy := (await client.get(f"{b.url}/status")).json()["active_requests"]):
                    if all(t.done() for t in tasks):
                        break
                    await asyncio.sleep(0.05)
                else:
                    in_flight_on_b.append(busy)
                    b.kill()  # with requests of this load generating on it
                    await asyncio.gather(*tasks)
                    return
                await asyncio.gather(*tasks)

    asyncio.run(main())
    assert in_flight_on_b and in_flight_on_b[0] >= 1, "no request reached b in 3 loads"
    assert results == [200] * len(results), results  # the ones b was serving were failed over to a
    # kill -9 withdraws nothing: b leaves the swarm view when its record expires (3 heartbeats); the
    # bound is a liveness bound, generous for a loaded machine, far from a record that never expires
    wait_for(lambda: b_id not in node_ids(swarm["a"]), 60, "the killed node to expire")
    b.start()
    assert own_id(b) == b_id  # same key file, same identity
    wait_for(lambda: b_id in node_ids(swarm["a"]), 60, "the restarted node to be back")


def test_node_without_the_swarm_secret_cannot_join(nodes: Nodes) -> None:
    secret = ("--swarm-secret", "open-sesame")
    s1 = nodes.start(SMOL, *SWARM_ARGS, *secret, name="sec1")
    # two nodes without the secret: the outsider bootstraps from s1 and from an open peer, so its DHT
    # demonstrably works (the open peer sees it) while s1 must drop everything it sends
    open_peer = nodes.start(SMOL, *SWARM_ARGS, name="open")
    outsider = nodes.start(
        SMOL,
        *SWARM_ARGS,
        "--bootstrap-nodes",
        f"127.0.0.1:{s1.dht_port},127.0.0.1:{open_peer.dht_port}",
        name="outsider",
    )
    # the second member joins last, so the outsider has been trying for all of the window below
    s2 = nodes.start(SMOL, *SWARM_ARGS, *secret, "--bootstrap-nodes", f"127.0.0.1:{s1.dht_port}", name="sec2")
    members, strangers = {own_id(s1), own_id(s2)}, {own_id(outsider), own_id(open_peer)}

    def positives() -> bool:
        # within one window: each member sees the other and the open peer sees the outsider, while no
        # member ever lists a stranger nor a stranger a member
        views = {name: node_ids(n) for name, n in (("s1", s1), ("s2", s2), ("o", outsider), ("p", open_peer))}
        assert not (views["s1"] | views["s2"]) & strangers, views
        assert not (views["o"] | views["p"]) & members, views
        return views["s1"] >= members and views["s2"] >= members and own_id(outsider) in views["p"]

    wait_for(positives, 60, "the members to see each other and the open peer to see the outsider")
    dropped = httpx.get(f"{s1.url}/dht/status", timeout=10).json()["dropped_datagrams"]
    assert dropped >= 1, "the outsider's datagrams never reached s1: the test proved nothing"


def test_client_and_cli_discover_the_real_swarm(swarm: dict[str, NodeProcess]) -> None:
    import subprocess
    import sys

    from llamanet.client import Client

    async def main() -> tuple[int, str, str]:
        client = Client(bootstrap_nodes=f"localhost:{swarm['a'].dht_port}")
        try:
            nodes = await client.dht_discovery.get_nodes()
            response = await client.generate(
                prompt="Who wrote Hamlet?", model=GEMMA, max_tokens=12, temperature=0
            )
            return len(nodes), response.node_id, response.text
        finally:
            await client.close()

    count, served_by, text = asyncio.run(main())
    assert count == 4
    assert served_by in {own_id(swarm["c"]), own_id(swarm["d"])} and text.strip()
    out = subprocess.run(
        [sys.executable, "-m", "llamanet", "status", f"127.0.0.1:{swarm['b'].dht_port}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert SMOL in out.stdout and GEMMA in out.stdout
