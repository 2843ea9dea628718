"""Forwards a request to another node, trying the next candidate when one fails before answering.

Non-streaming requests can fail over at any point (nothing reached the client yet). Streaming
requests fail over until the upstream's first bytes arrive (a node sends nothing before its first
token); after that the stream passes straight through as ``Upstream.chunks``, and closing that iterator
(the API does when the client leaves) closes the upstream connection, which cancels the generation there.
Which answers fail over is ``retry.fails_over``. No web framework here: the API builds the response.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import httpx

from llamanet.routing.bans import BanList
from llamanet.routing.errors import NoPeerAvailableError
from llamanet.routing.retry import error_code, fails_over
from llamanet.routing.view import NodeView

log = logging.getLogger(__name__)

HOPS_HEADER = "x-llamanet-hops"
NODE_HEADER = "x-llamanet-node"
_PASS_HEADERS = ("content-type", "retry-after")


@dataclass(frozen=True)
class Outgoing:
    """A request as it is sent on: the path (with its query), raw body and the headers to pass."""

    path: str
    body: bytes
    headers: Mapping[str, str]
    stream: bool


@dataclass(frozen=True)
class Upstream:
    """The answer of the node that took the request: status, headers and its bytes, whole (``body``)
    or as a stream that passes through (``chunks``; closing it closes the upstream connection)."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None

    def then(self, done: Callable[[], None]) -> Upstream:
        """This answer with ``done`` called once its stream ends, however it ends."""
        if self.chunks is None:
            done()
            return self
        return replace(self, chunks=_then(self.chunks, done))


class _Retry(Exception):
    """This node failed; try the next one."""


def _headers(upstream: httpx.Response, view: NodeView) -> dict[str, str]:
    out = {k: upstream.headers[k] for k in _PASS_HEADERS if k in upstream.headers}
    out[NODE_HEADER] = view.node_id
    return out


class Forwarder:
    def __init__(self, client: httpx.AsyncClient, bans: BanList) -> None:
        self.client = client
        self.bans = bans

    async def forward(self, outgoing: Outgoing, candidates: Sequence[NodeView]) -> Upstream:
        failures: list[str] = []
        for view in candidates:
            if self.bans.is_banned(view.key, time.monotonic()):
                continue
            try:
                upstream = await (
                    self._stream(view, outgoing) if outgoing.stream else self._once(view, outgoing)
                )
            except _Retry as exc:
                now = time.monotonic()
                ban = self.bans.fail(view.key, now).until - now
                log.warning(
                    "node %s failed (%s); banned for %.0fs, trying the next", view.node_id[:12], exc, ban
                )
                failures.append(f"{view.node_id[:12]}: {exc}")
                continue
            self.bans.succeed(view.key)
            return upstream
        raise NoPeerAvailableError("; ".join(failures) or "every candidate is banned after recent failures")

    async def _once(self, view: NodeView, out: Outgoing) -> Upstream:
        try:
            r = await self.client.post(view.url + out.path, content=out.body, headers=dict(out.headers))
        except httpx.HTTPError as exc:
            raise _Retry(type(exc).__name__) from exc
        if r.status_code >= 400 and fails_over(r.status_code, error_code(r.content)):
            raise _Retry(f"HTTP {r.status_code}")
        return Upstream(r.status_code, _headers(r, view), body=r.content)

    async def _stream(self, view: NodeView, out: Outgoing) -> Upstream:
        request = self.client.build_request(
            "POST", view.url + out.path, content=out.body, headers=dict(out.headers)
        )
        try:
            r = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _Retry(type(exc).__name__) from exc
        try:
            if r.status_code != 200:
                content = await r.aread()
                await r.aclose()
                if fails_over(r.status_code, error_code(content)):
                    raise _Retry(f"HTTP {r.status_code}")
                return Upstream(r.status_code, _headers(r, view), body=content)
            chunks = r.aiter_raw()
            first = await anext(chunks)
        except (StopAsyncIteration, httpx.HTTPError) as exc:
            await r.aclose()
            raise _Retry("closed before the first token") from exc
        except BaseException:  # cancelled (the client left): do not leave the connection open
            await r.aclose()
            raise
        return Upstream(200, _headers(r, view), chunks=_relay(first, chunks, r, view))


async def _relay(
    first: bytes, chunks: AsyncIterator[bytes], upstream: httpx.Response, view: NodeView
) -> AsyncIterator[bytes]:
    try:
        yield first
        async for chunk in chunks:
            yield chunk
    except httpx.HTTPError as exc:
        log.warning("stream from node %s broke: %s", view.node_id[:12], exc)
        error = {
            "error": {
                "message": f"node {view.node_id[:12]} failed mid-stream",
                "type": "server_error",
                "code": "upstream_failed",
            }
        }
        yield f"data: {json.dumps(error)}\n\n".encode()
    finally:
        await upstream.aclose()


async def _then(chunks: AsyncIterator[bytes], done: Callable[[], None]) -> AsyncIterator[bytes]:
    """Pass ``chunks`` through, then call ``done`` however the stream ends."""
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        try:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            done()
