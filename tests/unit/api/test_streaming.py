"""SSE templates render the same bytes as ``sse``; collecting stops when the client disconnects."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.requests import Request

from llamanet.api import streaming
from llamanet.engine.events import Finished, TokenDelta
from llamanet.engine.stats import EngineStats
from llamanet.metrics import NodeMetrics

TEXTS = ["", "Hello", ' "quoted" \\ back', "line\nbreak\ttab", "héllo wörld ✓ 你好", "\x00\x1f", "🦙"]


@pytest.mark.parametrize("text", TEXTS)
def test_template_renders_the_same_bytes_as_sse(text: str) -> None:
    def chunk(value: str) -> dict[str, Any]:
        return {
            "id": "cmpl-1",
            "object": "text_completion",
            "created": 7,
            "model": 'a "model"',
            "choices": [{"index": 0, "text": value, "logprobs": None, "finish_reason": None}],
        }

    render = streaming.sse_template(chunk(streaming.HOLE))
    assert render(text) == streaming.sse(chunk(text))
    assert json.loads(render(text)[len(b"data: ") :])["choices"][0]["text"] == text


def test_template_needs_exactly_one_hole() -> None:
    with pytest.raises(ValueError):
        streaming.sse_template({"a": "no hole"})


class FakeGeneration:
    """Stands in for ``Generation``: the events it will yield, and whether it was cancelled."""

    def __init__(self, events: list[Any], then_wait: bool = False) -> None:
        self.events = list(events)
        self.then_wait = then_wait
        self.done = False
        self.cancelled = False

    async def next(self) -> Any:
        if not self.events:
            await asyncio.Event().wait()  # a generation that never finishes on its own
        event = self.events.pop(0)
        if isinstance(event, Finished):
            self.done = True
        return event

    def cancel(self) -> None:
        self.cancelled = True


def metrics() -> NodeMetrics:
    return NodeMetrics(lambda: EngineStats(1, 0, 0, 0.0, 0, 0))


def finished(n: int) -> Finished:
    return Finished("stop", 3, n, 0, 0.01, 0.1)


def request_with(messages: list[dict[str, Any]]) -> Request:
    """A request whose ``receive`` hands out ``messages`` and then waits forever."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)
    return Request({"type": "http", "method": "POST", "headers": []}, receive=queue.get)


def test_collect_returns_every_completion_in_order() -> None:
    gens = [
        FakeGeneration([TokenDelta("a", 1), TokenDelta("b", 2), finished(2)]),
        FakeGeneration([TokenDelta("c", 3), finished(1)]),
    ]

    async def main() -> list[streaming.Completion] | None:
        return await streaming.collect(request_with([]), gens, metrics())  # type: ignore[arg-type]

    results = asyncio.run(main())
    assert results is not None
    assert [r.text for r in results] == ["ab", "c"]
    assert [r.finished.completion_tokens for r in results if r.finished] == [2, 1]


def test_collect_gives_up_and_cancels_when_the_client_disconnects() -> None:
    gens = [FakeGeneration([TokenDelta("a", 1)]), FakeGeneration([])]

    async def main() -> list[streaming.Completion] | None:
        request = request_with([{"type": "http.request", "body": b""}, {"type": "http.disconnect"}])
        return await asyncio.wait_for(
            streaming.collect(request, gens, metrics()),  # type: ignore[arg-type]
            timeout=5,
        )

    assert asyncio.run(main()) is None
    assert all(g.cancelled for g in gens)
