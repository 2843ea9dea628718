"""Forwards a request to another node, trying the next candidate when one fails before answering.

Non-streaming requests can fail over at any point (nothing reached the client yet). Streaming
requests fail over until the upstream's first bytes arrive (a node sends nothing before its first
token); after that the stream passes straight through as ``Upstream.chunks``, and closing that iterator
(the API does when the client leaves) closes the upstream connection, which cancels the generation there.
A stream that breaks after its first bytes bans its node and raises ``StreamBrokeError`` from
``chunks``: ``resume`` continues it on another node, or ``ending_with_failure`` ends it with an error
event. Which answers fail over is ``retry.fails_over``. No web framework here: the API builds the
response.

Trust: a candidate from a DHT record gets the request only once its URL proved the record's key
(``AddressProofs``; a failed proof bans it like a failure). The request carries this node's signed
forward proof for that candidate (``ForwardSigner``), never the user's credential. Answers are capped
in size and idle time (``capped``): a peer that breaks the caps fails over before the first bytes and
breaks the stream (as a dead one does) after them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import httpx

from llamanet.routing.address_proofs import AddressProofs
from llamanet.routing.bans import BanList
from llamanet.routing.capped import AnswerLimits, PeerAnswerError, capped, read_capped
from llamanet.routing.errors import NoPeerAvailableError, StreamBrokeError
from llamanet.routing.retry import error_code, fails_over
from llamanet.routing.view import NodeView
from llamanet_common.proofs import SITES_HEADER, ForwardSigner, ProofError

log = logging.getLogger(__name__)

HOPS_HEADER = "x-llamanet-hops"
NODE_HEADER = "x-llamanet-node"
_PASS_HEADERS = ("content-type", "retry-after")


@dataclass(frozen=True)
class Outgoing:
    """A request as it is sent on: the path (with its query), raw body, the headers to pass (never the
    user's credential) and the hop count it arrives with at the next node."""

    path: str
    body: bytes
    headers: Mapping[str, str]
    stream: bool
    hops: int = 1


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
    def __init__(
        self,
        client: httpx.AsyncClient,
        bans: BanList,
        proofs: AddressProofs,
        signer: ForwardSigner | None = None,
        limits: AnswerLimits | None = None,
    ) -> None:
        self.client = client
        self.bans = bans
        self.proofs = proofs
        self.signer = signer
        self.limits = limits or AnswerLimits()

    def _request(self, view: NodeView, out: Outgoing) -> httpx.Request:
        headers = {**out.headers, HOPS_HEADER: str(out.hops)}
        if self.signer is not None:
            sites = headers.get(SITES_HEADER, "")  # signed with the rest: the next hop cannot widen it
            headers.update(self.signer.headers("POST", out.path, out.body, view.node_id, out.hops, sites))
        return self.client.build_request("POST", view.url + out.path, content=out.body, headers=headers)

    async def _proven(self, view: NodeView) -> None:
        try:
            await self.proofs.prove(view)
        except ProofError as exc:
            raise _Retry(str(exc)) from exc

    async def forward(self, outgoing: Outgoing, candidates: Sequence[NodeView]) -> Upstream:
        failures: list[str] = []
        for view in candidates:
            if self.bans.is_banned(view.key, time.monotonic()):
                continue
            try:
                await self._proven(view)
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
            r = await self.client.send(self._request(view, out), stream=True)
        except httpx.HTTPError as exc:
            raise _Retry(type(exc).__name__) from exc
        try:
            content = await read_capped(r, self.limits)
        except (httpx.HTTPError, PeerAnswerError) as exc:
            raise _Retry(str(exc) or type(exc).__name__) from exc
        finally:
            await r.aclose()
        if r.status_code >= 400 and fails_over(r.status_code, error_code(content)):
            raise _Retry(f"HTTP {r.status_code}")
        return Upstream(r.status_code, _headers(r, view), body=content)

    async def _stream(self, view: NodeView, out: Outgoing) -> Upstream:
        try:
            r = await self.client.send(self._request(view, out), stream=True)
        except httpx.HTTPError as exc:
            raise _Retry(type(exc).__name__) from exc
        try:
            if r.status_code != 200:
                try:
                    content = await read_capped(r, self.limits)
                except PeerAnswerError as exc:
                    raise _Retry(str(exc)) from exc
                finally:
                    await r.aclose()
                if fails_over(r.status_code, error_code(content)):
                    raise _Retry(f"HTTP {r.status_code}")
                return Upstream(r.status_code, _headers(r, view), body=content)
            chunks = r.aiter_raw()
            first = await anext(chunks)  # the wait for a slot and the first token: forward_timeout
        except (StopAsyncIteration, httpx.HTTPError) as exc:
            await r.aclose()
            raise _Retry("closed before the first token") from exc
        except BaseException:  # cancelled (the client left): do not leave the connection open
            await r.aclose()
            raise
        rest = capped(chunks, replace(self.limits, max_bytes=max(0, self.limits.max_bytes - len(first))))
        return Upstream(200, _headers(r, view), chunks=self._relay(first, rest, r, view))

    async def _relay(
        self, first: bytes, chunks: AsyncIterator[bytes], upstream: httpx.Response, view: NodeView
    ) -> AsyncIterator[bytes]:
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        except (httpx.HTTPError, PeerAnswerError) as exc:
            now = time.monotonic()
            ban = self.bans.fail(view.key, now).until - now
            log.warning("stream from node %s broke: %s; banned for %.0fs", view.node_id[:12], exc, ban)
            raise StreamBrokeError(f"node {view.node_id[:12]} failed mid-stream") from exc
        finally:
            await upstream.aclose()


async def ending_with_failure(chunks: AsyncIterator[bytes], content_type: str) -> AsyncIterator[bytes]:
    """``chunks``, ending with ``failure_line`` instead of a silent cut when the stream breaks."""
    try:
        async for chunk in chunks:
            yield chunk
    except StreamBrokeError as exc:
        yield failure_line(content_type, str(exc))
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def failure_line(content_type: str, message: str) -> bytes:
    """The last line of a stream that broke, in the stream's own format: an OpenAI-shaped SSE event
    (``upstream_failed``), or for NDJSON (Ollama's streams) the ``{"error": ...}`` line its clients read."""
    if "ndjson" in content_type.lower():
        return (json.dumps({"error": message}) + "\n").encode()
    error = {"error": {"message": message, "type": "server_error", "code": "upstream_failed"}}
    return f"data: {json.dumps(error)}\n\n".encode()


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
