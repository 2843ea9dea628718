"""Drives a ``Generation`` for an HTTP request and stops it as soon as the client goes away."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from llamanet.api.metrics import NodeMetrics
from llamanet.engine.engine import Generation
from llamanet.engine.events import Event, Failed, Finished, TokenDelta, TokenLogprob

POLL_SECONDS = 0.25
DISCONNECT_CHECK_SECONDS = 0.05  # a disconnect stops generation within a few tokens, at little cost


async def events(request: Request, gen: Generation, metrics: NodeMetrics) -> AsyncIterator[Event]:
    """Yield the generation's events; cancel it if the client disconnects or the consumer stops."""
    checked = time.monotonic()
    try:
        while True:
            event = await gen.next(timeout=POLL_SECONDS)
            if event is None:
                if await request.is_disconnected():
                    return
                continue
            if isinstance(event, Finished):
                metrics.observe_finished(event)
            yield event
            if isinstance(event, Finished | Failed):
                return
            now = time.monotonic()
            if now - checked >= DISCONNECT_CHECK_SECONDS:
                checked = now
                if await request.is_disconnected():
                    return
    finally:
        gen.cancel()


@dataclass
class Completion:
    """A generation collected to its end."""

    text: str = ""
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finished: Finished | None = None


async def collect(request: Request, gen: Generation, metrics: NodeMetrics) -> Completion:
    out = Completion()
    parts: list[str] = []
    async for event in events(request, gen, metrics):
        if isinstance(event, TokenDelta):
            parts.append(event.text)
            if event.logprob is not None:
                out.logprobs.append(event.logprob)
        elif isinstance(event, Finished):
            parts.append(event.text_tail)
            out.finished = event
        else:
            raise event.error
    out.text = "".join(parts)
    return out


def sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
