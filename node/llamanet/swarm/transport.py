"""``FramedTransport``: every outgoing datagram framed (``wire``), requests padded, replies to senders
that have not proved their address held to ``AMPLIFICATION`` x what they sent (``reply_limit``, set
per request by the protocol), and ``fit_reply`` to make answers fit that limit."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

import umsgpack

from llamanet.swarm.wire import REQUEST_PAD_BYTES, Contact, encode_frame

log = logging.getLogger(__name__)

# the most bytes a reply to the request being handled may have (None: its sender proved its address)
reply_limit: contextvars.ContextVar[int | None] = contextvars.ContextVar("swarm_reply_limit", default=None)
AMPLIFICATION = 3
REPLY_RESERVE_BYTES = 160  # frame header, HMAC, rpcudp header and the answer's own keys


class FramedTransport:
    """Wraps the datagram transport so every outgoing packet (request or response) is framed."""

    def __init__(self, inner: Any, secret: bytes | None, client: bool, contact: Contact) -> None:
        self._inner = inner
        self._secret = secret
        self._client = client
        self.contact = contact
        self.oversized_replies = 0

    def sendto(self, data: bytes, addr: Any) -> None:
        if self._inner.is_closing():
            return
        request = data[:1] == b"\x00"
        frame = encode_frame(
            data,
            secret=self._secret,
            client=self._client,
            contact=self.contact,
            pad_to=REQUEST_PAD_BYTES if request else 0,
        )
        limit = None if request else reply_limit.get()
        if limit is not None and len(frame) > limit:
            self.oversized_replies += 1  # the handlers fit their answers; this is the backstop
            log.debug("not sending a %d-byte reply to unproven %s (limit %d)", len(frame), addr, limit)
            return
        self._inner.sendto(frame, addr)

    def close(self) -> None:
        self._inner.close()


def fit_reply(nodes: list[tuple[Any, ...]], limit: int | None) -> list[tuple[Any, ...]]:
    """The first of ``nodes`` whose reply fits ``limit`` bytes (all of them without a limit)."""
    if limit is None:
        return nodes
    room = limit - REPLY_RESERVE_BYTES
    while nodes and len(umsgpack.packb(nodes)) > room:
        nodes = nodes[:-1]
    return nodes
