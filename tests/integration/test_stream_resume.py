"""A forwarded stream whose node dies after tokens reached the client is resumed: the entry node sends
the text already streamed as a continuation to another node serving the model (or serves it itself),
and the client reads one uninterrupted stream ending in ``[DONE]``, with the text (greedy) and the
usage of an uninterrupted run.

Two ways to die: a fake node (tests/fakeupstream.py) that replays the first events of a real node's
stream and drops the connection mid-event, and a real node process SIGKILLed mid-stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import SMOL, Nodes
from tests.integration.test_forwarding_failures import ARGS, ENTRY_MODEL, Advertised, serving, sse
from tests.nodeproc import NodeProcess
from tests.swarmrecords import HOST, eventually

pytestmark = [pytest.mark.model, pytest.mark.slow]
COUNT = [{"role": "user", "content": "Count from 1 to 20, separated by commas."}]
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/v1/chat/completions", {"messages": COUNT, "stream_options": {"include_usage": True}}),
    "completion": (
        "/v1/completions",
        {"prompt": "1, 2, 3, 4,", "echo": True, "stream_options": {"include_usage": True}},
    ),
    "native": ("/generate/stream", {"prompt": "Count from 1 to 20, separated by commas."}),
}


@pytest.fixture
def pair(node_logs: Path, model_cache: object, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    args = (*ARGS, "--n-threads", "1")  # no spinning decoder threads on a shared machine
    entry = nodes.start(SMOL, *args, "--model-name", ENTRY_MODEL, name="resume-entry")
    real = nodes.start(SMOL, *args, "--bootstrap-nodes", f"127.0.0.1:{entry.dht_port}", name="resume-real")
    yield {
        "entry": entry.url,
        "entry_dht": f"{HOST}:{entry.dht_port}",
        "real": real.url,
        "real_id": httpx.get(f"{real.url}/status", timeout=10).json()["node_id"],
    }
    nodes.stop_all(request.session.testsfailed > failed_before)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=120) as c:
        yield c


def text_of(kind: str, events: list[str]) -> str:
    out = []
    for e in events:
        if e == "[DONE]":
            continue
        data = json.loads(e)
        assert "error" not in data, data
        if kind == "native":
            out.append(data["text"])
        for choice in data.get("choices", []):
            out.append(choice["delta"].get("content") or "" if kind == "chat" else choice["text"])
    return "".join(out)


def ending(kind: str, events: list[str]) -> dict[str, Any]:
    """The usage (OpenAI) or the final summary (native) of a stream."""
    if kind == "native":
        last = json.loads(events[-1])
        return {k: last[k] for k in ("tokens_generated", "prompt_tokens", "finish_reason")}
    usage = json.loads(events[-2])["usage"]
    return {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


@pytest.mark.parametrize("kind", list(CASES))
async def test_a_stream_cut_mid_event_is_resumed_with_the_text_and_usage_of_an_uninterrupted_run(
    pair: dict[str, str], client: httpx.AsyncClient, kind: str
) -> None:
    path, extra = CASES[kind]
    body = {"model": SMOL, "max_tokens": 24, "temperature": 0, "stream": True, **extra}
    async with client.stream("POST", pair["real"] + path, json=body) as r:
        raw = b"".join([c async for c in r.aiter_raw()])
    whole = [e[6:] for e in raw.decode().split("\n\n") if e.startswith("data: ")]
    events = raw.split(b"\n\n")
    cut = b"\n\n".join(events[:6]) + b"\n\n" + events[6][: len(events[6]) // 2]  # 6 events and a half
    async with Advertised("replay", SMOL, pair["entry_dht"], replay=cut) as bad:
        want = {bad.node_id, pair["real_id"]}

        async def both_known() -> bool:
            return await serving(client, pair["entry"], SMOL) >= want

        await eventually(both_known, timeout=60)  # liveness bound for a loaded machine
        async with client.stream("POST", pair["entry"] + path, json=body) as r:
            assert r.status_code == 200 and r.headers["x-llamanet-node"] == bad.node_id
            got = [e async for e in sse(r)]
    # the fake (idle, fastest) took it and broke mid-event; the real node continued after the text sent
    assert bad.fake.posts == [path]
    assert got[-1] == ("[DONE]" if kind != "native" else got[-1]) and text_of(kind, got) == text_of(
        kind, whole
    )
    assert len(text_of(kind, whole)) > 10
    assert ending(kind, got) == ending(kind, whole)
    if kind == "chat":
        chunks = [json.loads(e) for e in got[:-1]]
        assert {c["id"] for c in chunks} == {json.loads(whole[0])["id"]}  # one stream
        assert sum("role" in c["choices"][0]["delta"] for c in chunks if c["choices"]) == 1


@pytest.fixture
def busy_pair(
    node_logs: Path, model_cache: object, request: pytest.FixtureRequest
) -> Iterator[list[NodeProcess]]:
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    args = ("--n-ctx", "1024", "--heartbeat-interval", "1", "--n-threads", "1")
    a = nodes.start(SMOL, *args, "--n-parallel", "1", name="resume-a")
    b = nodes.start(
        SMOL, *args, "--n-parallel", "2", "--bootstrap-nodes", f"127.0.0.1:{a.dht_port}", name="resume-b"
    )
    yield [a, b]
    nodes.stop_all(request.session.testsfailed > failed_before)


async def test_a_node_killed_mid_stream_is_resumed_by_the_entry_node_itself(
    busy_pair: list[NodeProcess], client: httpx.AsyncClient
) -> None:
    a, b = busy_pair
    b_id = (await client.get(f"{b.url}/status")).json()["node_id"]

    async def known() -> bool:
        return b_id in await serving(client, a.url, SMOL)

    await eventually(known, timeout=60)  # liveness bound for a loaded machine
    count = [{"role": "user", "content": "Count from 1 to 30, separated by commas."}]
    body = {"model": SMOL, "messages": count, "max_tokens": 64, "temperature": 0, "stream": True}
    busy = {"model": SMOL, "prompt": "Once upon a time", "max_tokens": 48, "stream": True}
    async with client.stream("POST", f"{a.url}/v1/completions", json=busy) as occupier:
        assert "x-llamanet-node" not in occupier.headers  # A's only slot is taken for a while
        lines = occupier.aiter_lines()
        assert (await anext(lines)).startswith("data: ")
        async with client.stream("POST", f"{a.url}/v1/chat/completions", json=body) as r:
            assert r.headers["x-llamanet-node"] == b_id  # forwarded: A was busy
            events = sse(r)
            got = [await anext(events) for _ in range(5)]  # the role chunk and four tokens
            b.kill()
            # A's slot frees once the occupier is done: the continuation runs here
            _ = [line async for line in lines]
            got += [e async for e in events]
    again = await client.post(f"{a.url}/v1/chat/completions", json={**body, "stream": False})
    assert "x-llamanet-node" not in again.headers  # B is dead: served by A, uninterrupted
    assert got[-1] == "[DONE]"
    chunks = [json.loads(e) for e in got[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert text_of("chat", got) == again.json()["choices"][0]["message"]["content"]
