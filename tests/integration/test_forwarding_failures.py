"""Forwarding when the chosen node breaks: a real entry node forwards to a real misbehaving HTTP server
(tests/fakeupstream.py) advertised in the DHT like any node. Before the first token the entry fails over
to the next node; after it, the stream is resumed on another node (test_stream_resume.py), and where no
other node serves the model the client gets the ``upstream_failed`` error event."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields
from tests.fakeupstream import FIRST_TOKEN, SWAMPED, Behaviour, FakeUpstream
from tests.integration.conftest import SMOL, Nodes
from tests.swarmrecords import HOST, eventually, fast_config

pytestmark = [pytest.mark.model, pytest.mark.slow]
ARGS = ("--n-ctx", "512", "--n-parallel", "2", "--heartbeat-interval", "1")
ENTRY_MODEL = "entry-model"  # the entry serves SmolLM2 under another name: SMOL requests are forwarded


@pytest.fixture  # fresh per test: no lookup cache, ban or reservation left by the previous test's fakes
def pair(node_logs: Path, model_cache: object, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    caps = ("--forward-idle-timeout", "3")
    entry = nodes.start(SMOL, *ARGS, *caps, "--model-name", ENTRY_MODEL, name="fwd-entry")
    real = nodes.start(SMOL, *ARGS, "--bootstrap-nodes", f"127.0.0.1:{entry.dht_port}", name="fwd-real")
    yield {
        "entry": entry.url,
        "entry_dht": f"{HOST}:{entry.dht_port}",
        "real_id": httpx.get(f"{real.url}/status", timeout=10).json()["node_id"],
    }
    nodes.stop_all(request.session.testsfailed > failed_before)


class Advertised:
    """A FakeUpstream plus the SwarmNode that publishes its record (url, model) in the entry's DHT."""

    def __init__(
        self,
        behaviour: Behaviour,
        model: str,
        bootstrap: str,
        status: dict[str, object] | None = None,
        replay: bytes = b"",
    ) -> None:
        self.identity = NodeIdentity.generate()  # the fake holds its record's key: it proves its address
        self.fake = FakeUpstream(behaviour, status, identity=self.identity, replay=replay)
        self.model = model
        self.bootstrap = bootstrap
        self.member: SwarmNode | None = None

    async def __aenter__(self) -> Advertised:
        await self.fake.start()
        fields = RecordFields(
            urls=[self.fake.url], models=[self.model], name="fake", slots_total=64, slots_free=64, version="t"
        )
        self.member = SwarmNode(self.identity, fast_config(), record_factory=lambda: fields)
        await self.member.start(HOST, 0, [self.bootstrap])
        return self

    @property
    def node_id(self) -> str:
        assert self.member is not None
        return self.member.node_id

    async def __aexit__(self, *exc: object) -> None:
        if self.member is not None:
            await self.member.stop(withdraw=True)
        await self.fake.stop()


async def serving(client: httpx.AsyncClient, entry: str, model: str) -> set[str]:
    for m in (await client.get(f"{entry}/v1/models")).json()["data"]:
        if m["id"] == model:
            return set(m["meta"]["nodes"])
    return set()


async def sse(response: httpx.Response) -> AsyncIterator[str]:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield line[6:]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=120) as c:
        yield c


@pytest.mark.parametrize("behaviour", ["hang_up", "headers_only"])
async def test_stream_fails_over_when_the_node_dies_before_its_first_token(
    pair: dict[str, str], client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    async with Advertised(behaviour, SMOL, pair["entry_dht"]) as bad:
        want = {bad.node_id, pair["real_id"]}

        async def both_known() -> bool:
            return await serving(client, pair["entry"], SMOL) >= want

        await eventually(both_known, timeout=60)  # liveness bound for a loaded machine
        body = {
            "model": SMOL,
            "messages": [{"role": "user", "content": "Name a colour."}],
            "max_tokens": 8,
            "temperature": 0,
            "stream": True,
        }
        async with client.stream("POST", f"{pair['entry']}/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            served_by = r.headers["x-llamanet-node"]
            events = [e async for e in sse(r)]
    # the fake (idle, fastest by its /status) was chosen first, took the request and broke before its
    # first token; the real node then served the whole stream
    assert bad.fake.posts == ["/v1/chat/completions"]
    assert served_by == pair["real_id"]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert not any("error" in c for c in chunks), chunks
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]).strip()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/completions", {"prompt": "1, 2,", "max_tokens": 4}),
        ("/generate", {"prompt": "Name a colour.", "max_tokens": 4}),
        ("/generate/stream", {"prompt": "Name a colour.", "max_tokens": 4}),
    ],
)
async def test_every_generation_route_fails_over_when_the_node_hangs_up_before_answering(
    pair: dict[str, str], client: httpx.AsyncClient, path: str, body: dict[str, object]
) -> None:
    async with Advertised("hang_up", SMOL, pair["entry_dht"]) as bad:
        want = {bad.node_id, pair["real_id"]}

        async def both_known() -> bool:
            return await serving(client, pair["entry"], SMOL) >= want

        await eventually(both_known, timeout=60)  # liveness bound for a loaded machine
        r = await client.post(f"{pair['entry']}{path}", json={"model": SMOL, "temperature": 0, **body})
    assert bad.fake.posts == [path]
    assert r.status_code == 200 and r.headers["x-llamanet-node"] == pair["real_id"], r.text
    assert "error" not in r.text


async def test_mid_stream_failure_ends_the_stream_with_an_upstream_failed_event(
    pair: dict[str, str], client: httpx.AsyncClient
) -> None:
    async with Advertised("one_chunk", "fake-model", pair["entry_dht"]) as bad:

        async def known() -> bool:
            return bad.node_id in await serving(client, pair["entry"], "fake-model")

        await eventually(known, timeout=60)  # liveness bound for a loaded machine
        body = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        async with client.stream("POST", f"{pair['entry']}/v1/chat/completions", json=body) as r:
            assert r.status_code == 200 and r.headers["x-llamanet-node"] == bad.node_id
            events = [json.loads(e) for e in [e async for e in sse(r)]]
    assert bad.fake.posts == ["/v1/chat/completions"]
    # the token that got through, then the error event instead of a silent cut
    assert events[0]["choices"][0]["delta"]["content"] == FIRST_TOKEN
    assert events[-1]["error"]["code"] == "upstream_failed", events
    assert bad.node_id[:12] in events[-1]["error"]["message"]


async def test_the_least_loaded_node_is_chosen_by_its_fresh_status(
    pair: dict[str, str], client: httpx.AsyncClient
) -> None:
    # the fake advertises free slots in its record but its fresh /status says it is swamped: every
    # request goes to the real node. A random pick would send one of six there with odds 63 in 64.
    async with Advertised("hang_up", SMOL, pair["entry_dht"], status=SWAMPED) as swamped:
        want = {swamped.node_id, pair["real_id"]}

        async def both_known() -> bool:
            return await serving(client, pair["entry"], SMOL) >= want

        await eventually(both_known, timeout=60)  # liveness bound for a loaded machine
        served = []
        for i in range(6):
            r = await client.post(
                f"{pair['entry']}/v1/completions", json={"model": SMOL, "prompt": f"{i},", "max_tokens": 2}
            )
            assert r.status_code == 200, r.text
            served.append(r.headers["x-llamanet-node"])
    assert swamped.fake.posts == [], "a request went to the swamped node"
    assert served == [pair["real_id"]] * 6


async def test_an_oversized_answer_fails_over_instead_of_filling_the_entrys_memory(
    pair: dict[str, str], client: httpx.AsyncClient
) -> None:
    async with Advertised("huge", SMOL, pair["entry_dht"]) as bad:
        want = {bad.node_id, pair["real_id"]}

        async def both_known() -> bool:  # and no other: an earlier test's fake, not yet gone, could be probed
            return await serving(client, pair["entry"], SMOL) == want

        await eventually(both_known, timeout=60)  # liveness bound for a loaded machine
        r = await client.post(
            f"{pair['entry']}/v1/completions", json={"model": SMOL, "prompt": "1,", "max_tokens": 2}
        )
    # the fake (idle, fastest) took it first and sent 80 MiB: over the 64 MiB cap, the entry dropped it
    # and the real node answered
    assert bad.fake.posts == ["/v1/completions"]
    assert r.status_code == 200 and r.headers["x-llamanet-node"] == pair["real_id"]
    assert r.json()["choices"][0]["text"] is not None


async def test_a_silent_stream_ends_after_the_idle_timeout_with_an_upstream_failed_event(
    pair: dict[str, str], client: httpx.AsyncClient
) -> None:
    async with Advertised("stall", "stall-model", pair["entry_dht"]) as bad:

        async def known() -> bool:
            return bad.node_id in await serving(client, pair["entry"], "stall-model")

        await eventually(known, timeout=60)  # liveness bound for a loaded machine
        body = {"model": "stall-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        started = time.monotonic()
        async with client.stream("POST", f"{pair['entry']}/v1/chat/completions", json=body) as r:
            events = [json.loads(e) for e in [e async for e in sse(r)]]
        took = time.monotonic() - started
    assert events[0]["choices"][0]["delta"]["content"] == FIRST_TOKEN
    assert events[-1]["error"]["code"] == "upstream_failed", events
    assert took < 30, f"the silent stream was held {took:.0f}s (idle timeout 3 s, the fake is silent 60 s)"
