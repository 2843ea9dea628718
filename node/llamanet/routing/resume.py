"""Resuming a forwarded stream whose node died after tokens reached the client.

``resuming`` passes the upstream's events to the client through a ``Tape``. When the stream breaks
(``StreamBrokeError``: the forwarder has banned that node by then) or ends without its last event, it
asks the router again where the request goes, sends the continuation (``tape.continuation``: the body
plus the text already sent, in a signed forwarded request) to the node chosen, or runs it here
(``Resumable.local``: this node serves the model), and splices the continuation's events in, so the
client reads one stream. At most ``MAX_RESUMES`` times per stream. When no node can continue it (the
model's only node died, tools or a grammar, the router refuses), the stream ends with the
``upstream_failed`` error event, never silently. No web framework here: the API supplies ``local``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from llamanet.routing.decision import Forward
from llamanet.routing.errors import RoutingError, StreamBrokeError
from llamanet.routing.forwarder import NODE_HEADER, Outgoing, Upstream, failure_line
from llamanet.routing.router import RequestRouter
from llamanet.routing.sites import SitePolicy
from llamanet.routing.tape import DONE, Kind, Tape, continuation

log = logging.getLogger(__name__)

MAX_RESUMES = 3
LocalStream = Callable[[dict[str, Any]], Awaitable[AsyncIterator[bytes]]]


@dataclass(frozen=True)
class Resumable:
    """A forwarded stream and what it takes to continue it: its kind, the request as it was sent on (its
    body is parsed only if the stream breaks), the routing inputs of ``RequestRouter.decide`` and this
    node's own way to serve a continuation body (``local``; it raises when this node cannot)."""

    kind: Kind
    outgoing: Outgoing
    model: str | None
    hops: int
    sites: SitePolicy
    local: LocalStream


class _CannotResume(Exception):
    """No node took the continuation; ``str()`` says why."""


async def resuming(router: RequestRouter, upstream: Upstream, job: Resumable) -> AsyncIterator[bytes]:
    """``upstream``'s stream, continued on another node (or this one) each time it breaks."""
    assert upstream.chunks is not None
    tape = Tape(job.kind)
    source: AsyncIterator[bytes] = upstream.chunks
    node = upstream.headers.get(NODE_HEADER, "")[:12]
    resumes = 0
    while True:
        why = f"node {node} ended the stream early"
        try:
            async for data in source:
                for event in tape.feed(data):
                    yield event
        except StreamBrokeError as exc:
            why = str(exc)
        finally:
            await _close(source)
        if tape.done:
            return
        if tape.finished:  # only the closing events were lost
            if job.kind != "native":
                yield DONE
            return
        body = continuation(job.kind, json.loads(job.outgoing.body), tape.parts)
        if resumes == MAX_RESUMES:
            body = f"resumed {MAX_RESUMES} times already"
        if isinstance(body, str):
            yield failure_line("text/event-stream", f"{why}; cannot resume: {body}")
            return
        resumes += 1
        try:
            source, node = await _continue(router, job, body)
        except _CannotResume as exc:
            yield failure_line("text/event-stream", f"{why}; no node could continue the stream: {exc}")
            return
        log.warning("%s; resumed on node %s after %d characters", why, node, len(tape.text))
        tape.resume()


async def _continue(
    router: RequestRouter, job: Resumable, body: dict[str, Any]
) -> tuple[AsyncIterator[bytes], str]:
    """The continuation's stream and the node serving it."""
    try:
        decision = await router.decide(job.model, job.hops, sites=job.sites)
        if isinstance(decision, Forward):
            raw = json.dumps(body, ensure_ascii=False).encode()
            up = await router.forward(decision, replace(job.outgoing, body=raw))
            if up is not None:
                if up.chunks is None:
                    raise _CannotResume(f"node {up.headers.get(NODE_HEADER, '')[:12]} answered {up.status}")
                return up.chunks, up.headers.get(NODE_HEADER, "")[:12]
    except RoutingError as exc:
        raise _CannotResume(str(exc)) from exc
    try:
        return await job.local(body), router.directory.self_id[:12]
    except Exception as exc:  # the API's own refusal (not loaded, not this model, ...): its message
        raise _CannotResume(str(exc) or type(exc).__name__) from exc


async def _close(chunks: AsyncIterator[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
