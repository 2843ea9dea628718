"""``RetryingProtocol``: rpcudp's request/answer matching with retransmits and proven addresses.

rpcudp sends a request once and waits the whole RPC timeout when that datagram (or its answer) is lost.
Here a request unanswered after ``retry_s`` is sent again (framed afresh by the transport: a new
timestamp and nonce, the same message id, so the receiver's replay window takes it), the wait doubling,
at most ``retries`` times and only while the RPC timeout leaves room (``retry_delays``). The first answer
settles the call; a later one for a settled message id is ignored. An answer to one of our requests (it
carries our random message id) proves the address it came from (``proven``: replies to it are not
bounded by the amplification limit).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from typing import Any

import umsgpack
from kademlia.protocol import KademliaProtocol

log = logging.getLogger(__name__)

MAX_PROVEN = 4096  # addresses remembered as having answered our RPCs
MAX_REQUEST_BYTES = 8192


def retry_delays(first_s: float, retries: int, timeout_s: float) -> list[float]:
    """When (seconds after the first send) to send a request again: ``first_s``, then doubling gaps,
    at most ``retries`` times, each before ``timeout_s``."""
    delays: list[float] = []
    at, gap = first_s, first_s
    while len(delays) < retries and first_s > 0 and at < timeout_s:
        delays.append(at)
        gap *= 2
        at += gap
    return delays


class RetryingProtocol(KademliaProtocol):  # type: ignore[misc]
    def __init__(self, source_node: Any, storage: Any, ksize: int, *, retry_s: float, retries: int) -> None:
        super().__init__(source_node, storage, ksize)
        self._retry_s = retry_s
        self._retries = retries
        self._resends: dict[bytes, asyncio.TimerHandle] = {}
        self.proven: OrderedDict[tuple[str, int], None] = OrderedDict()
        self.retransmits = 0

    def __getattr__(self, name: str) -> Any:
        """``self.ping(address, *args)`` and the like: a remote call (as rpcudp's) with retransmits."""
        if name.startswith("_") or name.startswith("rpc_"):
            raise AttributeError(name)

        def call(address: Any, *args: Any) -> asyncio.Future[tuple[bool, Any]]:
            return self._call(name, address, args)

        return call

    def _call(
        self, name: str, address: Any, args: tuple[Any, ...], retries: int | None = None
    ) -> asyncio.Future[tuple[bool, Any]]:
        """Send request ``name(*args)`` to ``address``, again at most ``retries`` times (None: the
        configured number) while unanswered; the future says (answered, answer)."""
        msg_id = os.urandom(20)
        data = umsgpack.packb([name, args])
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError(f"RPC {name} of {len(data)} bytes does not fit a datagram")
        datagram = b"\x00" + msg_id + data
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[bool, Any]] = loop.create_future()
        if self.transport is None:  # not listening (any more): no answer will come
            future.set_result((False, None))
            return future
        timeout = loop.call_later(self._wait_timeout, self._timeout, msg_id)
        self._outstanding[msg_id] = (future, timeout)
        self.transport.sendto(datagram, address)
        tries = self._retries if retries is None else min(self._retries, retries)
        delays = retry_delays(self._retry_s, tries, self._wait_timeout)
        if delays:
            self._schedule(msg_id, datagram, address, delays, 0.0)
        return future

    def _schedule(self, msg_id: bytes, datagram: bytes, address: Any, delays: list[float], at: float) -> None:
        self._resends[msg_id] = asyncio.get_running_loop().call_later(
            delays[0] - at, self._resend, msg_id, datagram, address, delays[1:], delays[0]
        )

    def _resend(self, msg_id: bytes, datagram: bytes, address: Any, delays: list[float], at: float) -> None:
        self._resends.pop(msg_id, None)
        entry = self._outstanding.get(msg_id)
        if entry is None or entry[0].done() or self.transport is None:
            return
        self.retransmits += 1
        log.debug("no answer to %s from %s after %.2fs: sending it again", msg_id.hex()[:8], address, at)
        self.transport.sendto(datagram, address)
        if delays:
            self._schedule(msg_id, datagram, address, delays, at)

    def _settle(self, msg_id: bytes) -> None:
        resend = self._resends.pop(msg_id, None)
        if resend is not None:
            resend.cancel()

    def _timeout(self, msg_id: bytes) -> None:
        """rpcudp's timeout, unless the caller already gave up on the answer (its future is cancelled)."""
        self._settle(msg_id)
        entry = self._outstanding.pop(msg_id, None)
        if entry is not None and not entry[0].done():
            entry[0].set_result((False, None))

    def _accept_response(self, msg_id: bytes, data: Any, address: Any) -> None:
        """The first answer to one of our requests settles it and proves the address it came from; a
        duplicate (the answer to a retransmitted copy) finds the call settled and is dropped."""
        entry = self._outstanding.pop(msg_id, None)
        if entry is None:
            log.debug("answer %s from %s to no request outstanding (a duplicate?)", msg_id.hex()[:8], address)
            return
        self._settle(msg_id)
        where = (str(address[0]), int(address[1]))
        self.proven[where] = None
        self.proven.move_to_end(where)
        if len(self.proven) > MAX_PROVEN:
            self.proven.popitem(last=False)
        future, timeout = entry
        timeout.cancel()
        if not future.done():
            future.set_result((True, data))
