"""Concurrency: every accepted request is served to the end; a full queue says 429; clients that leave
cancel their generation; the event loop keeps answering during generation."""

import asyncio
import json
import socket
import time

import httpx
import pytest

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model
# SmolLM2's <|endoftext|>, <|im_start|>, <|im_end|>: banned, a raw completion runs to max_tokens
NO_EOS = {"0": -100, "1": -100, "2": -100}


async def stream_completion(client: httpx.AsyncClient, url: str, prompt: str, max_tokens: int) -> dict:  # type: ignore[type-arg]
    pieces, final = [], None
    async with client.stream(
        "POST",
        f"{url}/generate/stream",
        json={"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.7},
    ) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
                if data.get("finished"):
                    final = data
                else:
                    pieces.append(data["text"])
    assert final is not None, "stream ended without its final event"
    return {**final, "text": "".join(pieces)}


def status(node: NodeProcess) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{node.url}/status", timeout=10).json()  # type: ignore[no-any-return]


def test_eight_concurrent_streams_all_complete(smol: NodeProcess) -> None:
    seen_busy = []

    async def watch(stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=10) as c:
            while not stop.is_set():
                seen_busy.append((await c.get(f"{smol.url}/status")).json()["active_requests"])
                await asyncio.sleep(0.05)

    async def main() -> list[dict]:  # type: ignore[type-arg]
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(stop))
        async with httpx.AsyncClient(timeout=300) as client:
            results = await asyncio.gather(
                *(
                    stream_completion(client, smol.url, f"Write a short story about a robot named R{i}.", 80)
                    for i in range(8)
                )
            )
        stop.set()
        await watcher
        return results

    results = asyncio.run(main())
    assert len(results) == 8
    for r in results:
        assert r["tokens_generated"] > 0 and r["text"].strip(), r
        assert r["finish_reason"] in ("stop", "length")
    assert max(seen_busy) >= 2, "requests were decoded one after another, not together"


@pytest.fixture
def tiny_queue(nodes: Nodes) -> NodeProcess:
    return nodes.start(SMOL, "--n-ctx", "1024", "--n-parallel", "1", "--max-queue", "1", name="tinyq")


def test_full_queue_gives_429_and_loses_nothing(tiny_queue: NodeProcess) -> None:
    async def main() -> tuple[list[dict], httpx.Response]:  # type: ignore[type-arg]
        async with httpx.AsyncClient(timeout=300) as client:
            body = {"prompt": "List the numbers:", "max_tokens": 150, "logit_bias": NO_EOS, "raw": True}
            first = asyncio.create_task(client.post(f"{tiny_queue.url}/generate", json=body))
            while status(tiny_queue)["active_requests"] < 1:
                await asyncio.sleep(0.05)
            second = asyncio.create_task(client.post(f"{tiny_queue.url}/generate", json=body))
            while status(tiny_queue)["queue_depth"] < 1:
                await asyncio.sleep(0.05)
            third = await client.post(
                f"{tiny_queue.url}/v1/completions", json={"prompt": "x", "max_tokens": 5}
            )
            done = [(await first).json(), (await second).json()]
            return done, third

    done, third = asyncio.run(main())
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) >= 1
    assert third.json()["error"]["code"] == "queue_full"
    assert [d["tokens_generated"] for d in done] == [150, 150]  # both accepted requests served to the end
    # the second waited for the one slot while the first generated: its queue time says so
    assert done[1]["queue_time"] > done[0]["queue_time"], done
    assert done[1]["queue_time"] > 0.5 * (done[0]["generation_time"] - done[0]["time_to_first_token"]), done
    assert done[1]["time_to_first_token"] >= done[1]["queue_time"], done


def wait_idle(node: NodeProcess) -> dict:  # type: ignore[type-arg]
    """/status once no slot is busy. 120 s is a liveness bound for a loaded machine, not a measurement."""
    deadline = time.monotonic() + 120
    while (now := status(node))["active_requests"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert now["active_requests"] == 0, "the generation never ended"
    return now


# A cancelled generation ends without finishing: requests_completed counts only generations that ran
# to a stop or their max_tokens. A request the node ignored the client leaving would finish (900 tokens,
# no end token possible) and count; the checks below are on events, not on how fast anything is.


def test_stream_disconnect_cancels_generation(smol: NodeProcess) -> None:
    before = wait_idle(smol)
    received = 0
    with httpx.stream(
        "POST",
        f"{smol.url}/generate/stream",
        timeout=60,
        json={"prompt": "Count: 1, 2, 3,", "max_tokens": 900, "logit_bias": NO_EOS, "raw": True},
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                received += 1
                if received == 5:
                    break  # leaving the block closes the connection
    after = wait_idle(smol)
    assert after["requests_completed"] == before["requests_completed"], "it generated to the end"
    assert after["tokens_generated"] - before["tokens_generated"] < 900


def test_non_streaming_disconnect_cancels_generation(smol: NodeProcess) -> None:
    before = wait_idle(smol)
    body = json.dumps(
        {"prompt": "Count: 1, 2, 3,", "max_tokens": 900, "logit_bias": NO_EOS, "raw": True}
    ).encode()
    with socket.create_connection(("127.0.0.1", smol.port)) as s:
        s.sendall(
            b"POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        while status(smol)["active_requests"] == 0:
            time.sleep(0.02)
    after = wait_idle(smol)
    assert after["requests_completed"] == before["requests_completed"], "it generated to the end"
    assert after["tokens_generated"] - before["tokens_generated"] < 900


def test_health_and_status_answer_during_generation(smol: NodeProcess) -> None:
    with httpx.stream(
        "POST",
        f"{smol.url}/generate/stream",
        timeout=120,
        json={"prompt": "Count: 1, 2, 3,", "max_tokens": 300, "logit_bias": NO_EOS, "raw": True},
    ) as r:
        lines = r.iter_lines()
        for line in lines:
            if line.startswith("data: "):
                break
        assert httpx.get(f"{smol.url}/health", timeout=10).status_code == 200
        assert status(smol)["active_requests"] >= 1  # the generation is still running
        finished = [json.loads(x[6:]) for x in lines if x.startswith("data: ")][-1]
    assert finished["finished"] and finished["tokens_generated"] == 300
