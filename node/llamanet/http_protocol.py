"""The node's HTTP/1.1 connections: uvicorn's httptools protocol with limits a hostile client cannot
get around.

- a cap on open connections, in total and per client address: a connection over either is answered
  with an OpenAI-shaped 503 and ``Retry-After`` as soon as its request line and headers are in, then
  closed (nothing of it reaches the app);
- a deadline for a request's headers (from the connection's first byte, or from the first byte of
  the next request on a keep-alive connection): a client holding half-sent headers is answered 408
  and dropped;
- a cap on the request line plus headers (431).

The body's own cap and deadline are the API's (``api.body_limit``): they need the ASGI view.
uvicorn's keep-alive timeout applies as usual. ``connection_limits`` decides; the protocol only counts.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass
class ConnectionLimits:
    max_total: int = 1024
    max_per_client: int = 128
    header_timeout_s: float = 10.0
    max_header_bytes: int = 64 * 1024
    retry_after_s: int = 2
    open_total: int = 0
    open_by_client: Counter[str] = field(default_factory=Counter)

    def over(self, client: str) -> str | None:
        """Which cap an extra connection from ``client`` passes (counted already), or None."""
        if self.open_total > self.max_total:
            return f"the node has {self.max_total} open connections (max_connections)"
        if self.open_by_client[client] > self.max_per_client:
            return f"{self.max_per_client} open connections from your address (max_connections_per_client)"
        return None


def _raw_response(status: int, reason: str, message: str, code: str, extra: str = "") -> bytes:
    body = json.dumps(
        {
            "error": {
                "message": message,
                "type": "service_unavailable" if status == 503 else "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """One connection; ``limits`` is shared by every connection of the server (``protocol_for``)."""

    limits: ConnectionLimits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client_key = ""
        self._refusal: str | None = None
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._client_key = self.client[0] if self.client else ""
        limits = self.limits
        limits.open_total += 1
        limits.open_by_client[self._client_key] += 1
        self._refusal = limits.over(self._client_key)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        limits = self.limits
        limits.open_total -= 1
        limits.open_by_client[self._client_key] -= 1
        if limits.open_by_client[self._client_key] <= 0:
            del limits.open_by_client[self._client_key]
        self._cancel_header_timer()
        super().connection_lost(exc)

    # --- header deadline and size ----------------------------------------------------------------
    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            message = f"the request headers did not arrive within {self.limits.header_timeout_s:g} s"
            self._refuse(_raw_response(408, "Request Timeout", message, "request_timeout"))

    def _refuse(self, response: bytes) -> None:
        self.transport.write(response)
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm_header_timer()  # the next request on a keep-alive connection

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_header_bytes(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > self.limits.max_header_bytes and not self.transport.is_closing():
            message = f"request line and headers larger than {self.limits.max_header_bytes} bytes"
            self._cancel_header_timer()
            self._refuse(_raw_response(431, "Request Header Fields Too Large", message, "headers_too_large"))

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        if self.transport.is_closing():
            return
        if self._refusal is not None:
            retry = f"retry-after: {self.limits.retry_after_s}\r\n"
            message = f"too many connections: {self._refusal}; retry later"
            self._refuse(_raw_response(503, "Service Unavailable", message, "too_many_connections", retry))
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.transport.is_closing() or self.cycle is None:
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self.transport.is_closing() or self.cycle is None:
            return
        super().on_message_complete()


def protocol_for(limits: ConnectionLimits) -> type[LimitedHttpToolsProtocol]:
    """A protocol class whose connections share ``limits`` (uvicorn's ``Config(http=...)``)."""
    return type("NodeHttpProtocol", (LimitedHttpToolsProtocol,), {"limits": limits})
