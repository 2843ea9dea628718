"""Reading a peer's HTTP answer without trusting it: a byte cap and an idle timeout on every read.

A peer's answer is untrusted input: a body larger than the cap, or a stream silent for longer than the
idle timeout, raises ``AnswerTooLargeError`` / ``AnswerIdleError`` (both ``PeerAnswerError``) instead
of filling this node's memory or holding its connection forever.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from llamanet.routing.errors import RoutingError


class PeerAnswerError(RoutingError):
    """A peer's answer broke a limit."""


class AnswerTooLargeError(PeerAnswerError):
    pass


class AnswerIdleError(PeerAnswerError):
    pass


@dataclass(frozen=True)
class AnswerLimits:
    max_bytes: int = 64 * 1024 * 1024  # a whole body, or a whole stream
    idle_s: float = 60.0  # the longest silence between two reads once the answer started


async def capped(chunks: AsyncIterator[bytes], limits: AnswerLimits) -> AsyncIterator[bytes]:
    """``chunks`` passed through while they stay within ``limits``; raises once they do not."""
    total = 0
    while True:
        try:
            async with asyncio.timeout(limits.idle_s):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise AnswerIdleError(f"silent for {limits.idle_s:.0f}s") from exc
        total += len(chunk)
        if total > limits.max_bytes:
            raise AnswerTooLargeError(f"answer larger than {limits.max_bytes} bytes")
        yield chunk


async def read_capped(response: httpx.Response, limits: AnswerLimits) -> bytes:
    """The whole body of a streamed ``response``, within ``limits`` (raises otherwise)."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limits.max_bytes:
        raise AnswerTooLargeError(f"answer of {length} bytes, limit {limits.max_bytes}")
    parts = [chunk async for chunk in capped(response.aiter_bytes(), limits)]
    return b"".join(parts)


PROBE_TIMEOUT_S = 1.0
PROBE_LIMITS = AnswerLimits(max_bytes=64 * 1024, idle_s=PROBE_TIMEOUT_S)  # a /status or proof answer


async def get_small_json(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], params: dict[str, str] | None = None
) -> Any:
    """GET a peer's small JSON answer (``/status``, a proof) within ``PROBE_LIMITS``; raises
    ``httpx.HTTPError``, ``PeerAnswerError`` or ``ValueError`` (not JSON, or nested too deep)."""
    request = client.build_request("GET", url, headers=headers, params=params, timeout=PROBE_TIMEOUT_S)
    r = await client.send(request, stream=True)
    try:
        r.raise_for_status()
        body = await read_capped(r, PROBE_LIMITS)
    finally:
        await r.aclose()
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise ValueError("JSON nested too deep") from exc
