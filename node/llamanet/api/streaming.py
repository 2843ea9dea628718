"""Drives ``Generation``s (and forwarded requests) for HTTP requests and stops them as soon as the
client goes away.

Disconnects are noticed by waiting on the ASGI ``receive`` channel, never by polling: a streamed
response (``ClosingStreamingResponse``, ``EventStreamResponse``) is cancelled by Starlette's disconnect
listener, which cancels its body iterator and so the generation or the upstream stream; awaited work
(``unless_disconnected``: a collected generation, a forwarded request) races a task waiting for
``http.disconnect``. Per token this costs nothing but the token itself, which matters
on small machines where the event loop shares the cores with the decoder.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # C speed-up, as json.dumps uses
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from llamanet.engine.engine import Generation
from llamanet.engine.events import Event, Finished, TokenDelta, TokenLogprob
from llamanet.metrics import NodeMetrics

CLIENT_CLOSED_REQUEST = 499  # the status logged for a request whose client left before the answer
T = TypeVar("T")


async def events(gen: Generation, metrics: NodeMetrics) -> AsyncIterator[Event]:
    """Yield the generation's events up to ``Finished`` or ``Failed``; closing early cancels it."""
    try:
        while not gen.done:
            event = await gen.next()
            if isinstance(event, Finished):
                metrics.observe_finished(event)
            yield event
    finally:
        gen.cancel()


@dataclass
class Completion:
    """A generation collected to its end."""

    text: str = ""
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finished: Finished | None = None


async def _collect_one(gen: Generation, metrics: NodeMetrics) -> Completion:
    out = Completion()
    parts: list[str] = []
    async for event in events(gen, metrics):
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


async def _disconnected(request: Request) -> None:
    """Return when the client closes the connection (the request body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None if the client left first (``work`` is then cancelled).

    The request body must have been read already (the disconnect watcher consumes ``receive``).
    """
    task: asyncio.Future[T] = asyncio.ensure_future(work)
    gone: asyncio.Future[None] = asyncio.ensure_future(_disconnected(request))
    try:
        racing: list[asyncio.Future[Any]] = [task, gone]
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        return task.result() if task.done() else None
    finally:
        gone.cancel()
        task.cancel()
        task.add_done_callback(_retrieved)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a cancelled piece of work's outcome as seen (no "exception was never retrieved" log)."""
    if not future.cancelled():
        future.exception()


async def collect(
    request: Request, gens: Sequence[Generation], metrics: NodeMetrics
) -> list[Completion] | None:
    """Every generation collected to its end, or None if the client left first (all are cancelled)."""
    try:
        return await unless_disconnected(request, asyncio.gather(*(_collect_one(g, metrics) for g in gens)))
    finally:
        for gen in gens:
            gen.cancel()


def sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


HOLE = "\x00llamanet:text\x00"  # stands for the one string that changes from token to token


def sse_template(data: dict[str, Any]) -> Callable[[str], bytes]:
    """``sse(data)`` with ``HOLE`` (one string value in ``data``) replaced by a text, minus the dict work.

    Token chunks differ only in their text; rendering them from a split template is the same bytes as
    ``sse`` for a fraction of the CPU the event loop shares with the decoder.
    """
    parts = sse(data).decode().split(encode_basestring(HOLE))
    if len(parts) != 2:
        raise ValueError(f"an SSE template needs exactly one HOLE, found {len(parts) - 1}")
    head, tail = parts

    def render(text: str) -> bytes:
        return f"{head}{encode_basestring(text)}{tail}".encode()

    return render


class ClosingStreamingResponse(StreamingResponse):
    """A streamed response whose body iterator is always closed, so its generation (or the upstream
    connection of a forwarded stream) is cancelled.

    Starlette cancels the sending task when the client disconnects; the iterator may then be parked at
    a ``yield`` rather than an ``await`` and would only be finalized by the garbage collector.
    """

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(chunks, status_code=status_code, headers=headers)
        self._chunks = chunks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self._chunks, "aclose", None)
            if aclose is not None:
                await aclose()


class EventStreamResponse(ClosingStreamingResponse):
    """``text/event-stream`` of this node's own generation."""

    media_type = "text/event-stream"

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        super().__init__(chunks, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
