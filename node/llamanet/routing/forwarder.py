"""Forwards a request to another node, trying the next candidate when one fails before answering.

Non-streaming requests can fail over at any point (nothing reached the client yet). Streaming
requests fail over until the upstream's first bytes arrive (a node sends nothing before its first
token); after that the stream passes straight through, and closing it (the client left) closes the
upstream connection, which cancels the generation there.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Sequence

import httpx
from starlette.responses import Response, StreamingResponse

from llamanet.routing.bans import BanList
from llamanet.routing.errors import NoPeerAvailableError
from llamanet.routing.peers import Peer

log = logging.getLogger(__name__)

HOPS_HEADER = "x-llamanet-hops"
NODE_HEADER = "x-llamanet-node"
RETRYABLE = frozenset({429, 500, 502, 503, 504})
_PASS_HEADERS = ("content-type", "retry-after")


class _Retry(Exception):
    """This peer failed; try the next one."""


def _headers(upstream: httpx.Response, peer: Peer) -> dict[str, str]:
    out = {k: upstream.headers[k] for k in _PASS_HEADERS if k in upstream.headers}
    out[NODE_HEADER] = peer.node_id
    return out


class Forwarder:
    def __init__(self, client: httpx.AsyncClient, bans: BanList) -> None:
        self.client = client
        self.bans = bans

    async def forward(
        self, path: str, body: bytes, headers: dict[str, str], candidates: Sequence[Peer], stream: bool
    ) -> Response:
        failures: list[str] = []
        for peer in candidates:
            if self.bans.is_banned(peer.node_id, time.monotonic()):
                continue
            try:
                response = await (
                    self._stream(peer, path, body, headers)
                    if stream
                    else self._once(peer, path, body, headers)
                )
            except _Retry as exc:
                now = time.monotonic()
                ban = self.bans.fail(peer.node_id, now).until - now
                log.warning(
                    "node %s failed (%s); banned for %.0fs, trying the next", peer.node_id[:12], exc, ban
                )
                failures.append(f"{peer.node_id[:12]}: {exc}")
                continue
            self.bans.succeed(peer.node_id)
            return response
        raise NoPeerAvailableError("; ".join(failures) or "every candidate is banned after recent failures")

    async def _once(self, peer: Peer, path: str, body: bytes, headers: dict[str, str]) -> Response:
        try:
            r = await self.client.post(peer.url + path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _Retry(type(exc).__name__) from exc
        if r.status_code in RETRYABLE:
            raise _Retry(f"HTTP {r.status_code}")
        return Response(r.content, status_code=r.status_code, headers=_headers(r, peer))

    async def _stream(self, peer: Peer, path: str, body: bytes, headers: dict[str, str]) -> Response:
        request = self.client.build_request("POST", peer.url + path, content=body, headers=headers)
        try:
            r = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _Retry(type(exc).__name__) from exc
        if r.status_code != 200:
            content = await r.aread()
            await r.aclose()
            if r.status_code in RETRYABLE:
                raise _Retry(f"HTTP {r.status_code}")
            return Response(content, status_code=r.status_code, headers=_headers(r, peer))
        chunks = r.aiter_raw()
        try:
            first = await anext(chunks)
        except (StopAsyncIteration, httpx.HTTPError) as exc:
            await r.aclose()
            raise _Retry("closed before the first token") from exc
        return StreamingResponse(_relay(first, chunks, r, peer), status_code=200, headers=_headers(r, peer))


async def _relay(
    first: bytes, chunks: AsyncIterator[bytes], upstream: httpx.Response, peer: Peer
) -> AsyncIterator[bytes]:
    try:
        yield first
        async for chunk in chunks:
            yield chunk
    except httpx.HTTPError as exc:
        log.warning("stream from node %s broke: %s", peer.node_id[:12], exc)
        error = {
            "error": {
                "message": f"node {peer.node_id[:12]} failed mid-stream",
                "type": "server_error",
                "code": "upstream_failed",
            }
        }
        yield f"data: {json.dumps(error)}\n\n".encode()
    finally:
        await upstream.aclose()
