"""A short prompt is not stuck behind a long one, on a real model (``engine.step_plan``).

One thread, so a 1500-token prompt takes a dozen 128-token steps. A short request sent while that
prompt is still being evaluated is answered (3 tokens) before the long one's first token. First come,
first served (the engine before step_plan) evaluated the long prompt in full before the short one's,
so the short one's answer came two steps after the long one's first token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model
LONG = "Here is a long list of facts about rivers, lakes and seas. " + " ".join(
    f"Fact {i}: river number {i} flows {i % 7 + 2} hundred kilometres into lake {i * 13 % 97}."
    for i in range(70)
)
SHORT = "The capital of France is"


@pytest.fixture(scope="module")
def node(node_logs: Any, request: pytest.FixtureRequest) -> Iterator[NodeProcess]:
    nodes = Nodes(node_logs)
    args = ("--n-ctx", "2048", "--n-parallel", "2", "--n-threads", "1", "--step-tokens", "128")
    try:
        yield nodes.start(SMOL, *args, name="step-plan")
    finally:
        nodes.stop_all(request.session.testsfailed > 0)


async def first_token_at(c: httpx.AsyncClient, url: str) -> tuple[float, int, float]:
    """Streams the long prompt; when its first text arrived, its prompt's length and its prompt_ms."""
    body = {"prompt": LONG, "max_tokens": 2, "temperature": 0, "stream": True}
    body["stream_options"] = {"include_usage": True}
    first, prompt, prompt_ms = 0.0, 0, 0.0
    async with c.stream("POST", f"{url}/v1/completions", json=body) as r:
        assert r.status_code == 200, await r.aread()
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            if data.get("choices") and not first:
                first = time.perf_counter()
            prompt = (data.get("usage") or {}).get("prompt_tokens", prompt)
            prompt_ms = (data.get("timings") or {}).get("prompt_ms", prompt_ms)
    return first, prompt, prompt_ms


async def active(c: httpx.AsyncClient, url: str) -> None:
    for _ in range(200):  # 10 s at most
        if (await c.get(f"{url}/status")).json()["active_requests"] >= 1:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the long request was never admitted")


def test_a_short_prompt_is_answered_before_a_long_one_started_earlier(node: NodeProcess) -> None:
    async def run() -> tuple[float, tuple[float, int, float], dict[str, Any]]:
        async with httpx.AsyncClient(timeout=300) as c:
            long = asyncio.create_task(first_token_at(c, node.url))
            await active(c, node.url)
            r = await c.post(
                f"{node.url}/v1/completions",
                json={"prompt": SHORT, "max_tokens": 3, "temperature": 0},
            )
            short_done = time.perf_counter()
            assert r.status_code == 200, r.text
            return short_done, await long, r.json()

    short_done, (long_first, prompt, long_prompt_ms), short = asyncio.run(run())
    assert prompt >= 1200, prompt  # a dozen steps of 128 tokens: the short request came in among them
    assert short["usage"]["completion_tokens"] == 3
    assert short_done < long_first, f"the short answer came {short_done - long_first:.2f} s after"
    # llama-server's timings, with the queue time: a free slot took it at the next step boundary (up to
    # one 128-token step of the long prompt, itself a dozen steps), not after the long prompt
    t = short["timings"]
    assert t["cache_n"] + t["prompt_n"] == short["usage"]["prompt_tokens"]
    assert t["predicted_n"] == 3 and t["prompt_ms"] > 0 and t["predicted_ms"] > 0
    assert 0 <= t["queue_ms"] < long_prompt_ms / 4, (t, long_prompt_ms)
