"""``BodyLimitMiddleware``: a request body is read here, whole, with a byte cap and a deadline, before
anything parses it; the app then gets the buffered body.

``Content-Length`` over the cap is refused before a byte is read; a chunked body (no length) is counted
as it arrives and refused with a 413 once it passes the cap, so neither form can make the node buffer,
parse or tokenize more than ``max_bytes``. Before that 413 the rest of the body is read and dropped, up
to another ``max_bytes`` or ``DRAIN_S`` seconds: a client still sending when the connection closes
would otherwise get a reset instead of the answer. A body that does not arrive within ``timeout_s``
(a client trickling bytes) gets a 408. All requests together hold at most ``max_held`` body bytes
(until each request is done): past that a request gets a 503 with ``Retry-After``, so many clients
sending large bodies at once cannot add up to gigabytes. Each time the connection is closed after the
answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llamanet.api.errors import ApiError

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_HELD_BYTES = 128 * 1024 * 1024
DRAIN_S = 2.0
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def too_large(max_bytes: int) -> ApiError:
    return ApiError(
        413,
        f"request body larger than {max_bytes} bytes (the node's max_body_bytes)",
        code="request_too_large",
        headers={"Connection": "close"},
    )


def declared_too_large(length: bytes | None, max_bytes: int) -> bool:
    """True when a ``Content-Length`` is malformed or over ``max_bytes``."""
    if length is None:
        return False
    return not length.isdigit() or len(length) > 19 or int(length) > max_bytes


@dataclass
class _Read:
    """One request's read: bytes it holds in ``held``, and whether more of its body is on the way."""

    reserved: int = 0
    more: bool = True


class _Busy(Exception):
    """Taking this chunk would pass ``max_held``."""


def busy(max_held: int) -> ApiError:
    return ApiError(
        503,
        f"the node holds {max_held} bytes of request bodies already (max_held_body_bytes); retry shortly",
        "service_unavailable",
        code="server_busy",
        headers={"Retry-After": "1", "Connection": "close"},
    )


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        timeout_s: float = 30.0,
        max_held: int = DEFAULT_MAX_HELD_BYTES,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.max_held = max_held
        self.held = 0  # body bytes of every request in progress

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if declared_too_large(headers.get(b"content-length"), self.max_bytes):
            await too_large(self.max_bytes).response()(scope, receive, send)
            return
        state = _Read()
        try:
            await self._serve(scope, receive, send, state)
        finally:
            self.held -= state.reserved

    async def _serve(self, scope: Scope, receive: Receive, send: Send, state: _Read) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                body = await self._read(receive, state)
        except TimeoutError:
            error = ApiError(
                408,
                f"the request body did not arrive within {self.timeout_s:g} s",
                code="request_timeout",
                headers={"Connection": "close"},
            )
            await error.response()(scope, receive, send)
            return
        except _Busy:
            await self._drain(receive, state)
            await busy(self.max_held).response()(scope, receive, send)
            return
        if body is None:
            await self._drain(receive, state)
            await too_large(self.max_bytes).response()(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, state: _Read) -> bytes | None:
        """The whole body, or None once it passes ``max_bytes`` (or the client left)."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                state.more = False
                return b"".join(parts)  # a disconnect: the app sees it on its next receive
            chunk = message.get("body", b"")
            state.more = bool(message.get("more_body", False))
            size += len(chunk)
            if size > self.max_bytes:
                return None
            if self.held + len(chunk) > self.max_held:
                raise _Busy
            self.held += len(chunk)
            state.reserved += len(chunk)
            parts.append(chunk)
            if not state.more:
                return b"".join(parts)

    async def _drain(self, receive: Receive, state: _Read) -> None:
        """Read and drop what is left of a refused body, within bounds (see the module doc)."""
        if not state.more:
            return
        dropped = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_S):
                while dropped <= self.max_bytes:
                    message = await receive()
                    if message["type"] != "http.request" or not message.get("more_body", False):
                        return
                    dropped += len(message.get("body", b""))


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when the client leaves

    return replay
