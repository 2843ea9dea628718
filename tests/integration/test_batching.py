"""Continuous batching: requests decoded together keep their own sampling, produce the same greedy text
as alone, and grammar-constrained output stays valid under load."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model
PROMPTS = [f"Tell me one fact about the number {i}." for i in range(8)]
# SmolLM2's <|endoftext|>, <|im_start|>, <|im_end|>: banned, a raw completion runs to max_tokens
NO_EOS = {"0": -100, "1": -100, "2": -100}


async def chat(client: httpx.AsyncClient, url: str, content: str, **extra: Any) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": content}], "max_tokens": 40, **extra}
    r = await client.post(f"{url}/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_greedy_output_is_the_same_alone_and_beside_seven_others(smol: NodeProcess) -> None:
    """Seven long generations run first; the greedy request is decoded in the same batches as them."""

    async def long(c: httpx.AsyncClient, i: int) -> None:
        body = {
            "prompt": PROMPTS[i],
            "max_tokens": 400,
            "temperature": 0.9,
            "raw": True,
            "logit_bias": NO_EOS,
        }
        await c.post(f"{smol.url}/generate", json=body)

    async def main() -> tuple[str, str, int]:
        async with httpx.AsyncClient(timeout=300) as c:
            alone = await chat(c, smol.url, PROMPTS[0], temperature=0, max_tokens=48)
            others = [asyncio.create_task(long(c, i)) for i in range(1, 8)]
            while (await c.get(f"{smol.url}/status")).json()["active_requests"] < 7:
                await asyncio.sleep(0.05)
            together = await chat(c, smol.url, PROMPTS[0], temperature=0, max_tokens=48)
            # proof of overlap: the seven (400 tokens each, no end token) are still running when the
            # 48-token request is done; decoded one after another, it would have waited for them
            still_running = (await c.get(f"{smol.url}/status")).json()["active_requests"]
            for task in others:  # leaving cancels them on the node
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            deadline = time.monotonic() + 120  # liveness bound: the node cancels what nobody awaits
            while (await c.get(f"{smol.url}/status")).json()["active_requests"]:
                assert time.monotonic() < deadline, "the abandoned generations kept running"
                await asyncio.sleep(0.1)
            return (
                alone["choices"][0]["message"]["content"],
                together["choices"][0]["message"]["content"],
                still_running,
            )

    alone, loaded, still_running = run(main())
    assert still_running >= 7, "the request was not decoded beside the seven others"
    assert alone == loaded


def test_concurrent_requests_keep_their_own_sampling(smol: NodeProcess) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

    async def main() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=300) as c:
            return await asyncio.gather(
                chat(c, smol.url, PROMPTS[1], max_tokens=5),
                chat(c, smol.url, "List the numbers from 1 to 10.", stop=[","], temperature=0),
                chat(c, smol.url, PROMPTS[2], temperature=0, logprobs=True, top_logprobs=4, max_tokens=6),
                chat(c, smol.url, PROMPTS[3], temperature=1.2, seed=7, max_tokens=20),
                chat(
                    c,
                    smol.url,
                    "Name a city as JSON.",
                    temperature=0,
                    max_tokens=60,
                    response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
                ),
                chat(
                    c,
                    smol.url,
                    PROMPTS[4],
                    temperature=0,
                    logit_bias={"504": -100},
                    max_tokens=20,
                    logprobs=True,
                ),
                chat(c, smol.url, PROMPTS[4], temperature=0, max_tokens=20, logprobs=True),
            )

    length, stopped, logprobs, seeded, constrained, biased, unbiased = run(main())
    assert length["choices"][0]["finish_reason"] == "length" and length["usage"]["completion_tokens"] == 5
    assert "," not in stopped["choices"][0]["message"]["content"]
    assert stopped["choices"][0]["finish_reason"] == "stop"
    content = logprobs["choices"][0]["logprobs"]["content"]
    assert len(content) == 6 and all(len(t["top_logprobs"]) == 4 for t in content)
    assert isinstance(json.loads(constrained["choices"][0]["message"]["content"])["city"], str)

    async def again() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=300) as c:
            return await chat(c, smol.url, PROMPTS[3], temperature=1.2, seed=7, max_tokens=20)

    assert run(again())["choices"][0]["message"]["content"] == seeded["choices"][0]["message"]["content"]
    # token 504 is "The": the same prompt in the same batch without the bias starts with it
    unbiased_tokens = [t["token"] for t in unbiased["choices"][0]["logprobs"]["content"]]
    assert "The" in unbiased_tokens, unbiased_tokens
    tokens = [t["token"] for t in biased["choices"][0]["logprobs"]["content"]]
    assert tokens and "The" not in tokens


def test_grammar_constrained_output_is_valid_under_load(smol: NodeProcess) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
        },
        "required": ["name", "age", "tags"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}

    async def main() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=300) as c:
            return await asyncio.gather(
                *(
                    chat(
                        c,
                        smol.url,
                        f"Describe person number {i} as JSON.",
                        temperature=0.8,
                        seed=i,
                        max_tokens=200,
                        response_format=fmt,
                    )
                    for i in range(8)
                )
            )

    for r in run(main()):
        data = json.loads(r["choices"][0]["message"]["content"])
        assert set(data) == {"name", "age", "tags"}
        assert isinstance(data["name"], str) and isinstance(data["age"], int)
        assert isinstance(data["tags"], list) and len(data["tags"]) <= 3


def test_new_request_is_served_while_long_generations_run(smol: NodeProcess) -> None:
    """Prompt processing is interleaved with decoding: a new request does not wait for running ones."""

    async def long(c: httpx.AsyncClient, i: int) -> dict[str, Any]:
        r = await c.post(
            f"{smol.url}/generate",
            json={"prompt": f"Count: {i},", "max_tokens": 400, "raw": True, "logit_bias": NO_EOS},
        )
        return r.json()  # type: ignore[no-any-return]

    async def main() -> tuple[int, list[dict[str, Any]]]:
        async with httpx.AsyncClient(timeout=300) as c:
            runs = [asyncio.create_task(long(c, i)) for i in range(3)]
            while (await c.get(f"{smol.url}/status")).json()["active_requests"] < 3:
                await asyncio.sleep(0.05)
            await chat(c, smol.url, "Say hi.", max_tokens=5)
            still_running = (await c.get(f"{smol.url}/status")).json()["active_requests"]
            return still_running, await asyncio.gather(*runs)

    still_running, finished = run(main())
    assert still_running == 3, "the short request waited for the long generations"
    assert [f["tokens_generated"] for f in finished] == [400, 400, 400]
