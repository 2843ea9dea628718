"""A hand-driven DHT peer on a real UDP socket, for tests against real SwarmNodes: it sends requests
claiming whatever id it is told, and answers the ``prove`` challenges those nodes send back as its
``mode`` says: ``honest`` (signed by its own key: a proof for its own id, and for no other), ``bad-sig``
(its own key and id, a signature over another challenge), ``silent`` (no answer at all)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import umsgpack

from llamanet.swarm.proofs import answer_challenge
from llamanet.swarm.wire import REQUEST_PAD_BYTES, Contact, decode_frame, encode_frame
from llamanet_common.identity import NodeIdentity

HOST = "127.0.0.1"
MODES = ("honest", "bad-sig", "silent")


def request(method: str, args: list[Any], contact: Contact, pad_to: int = REQUEST_PAD_BYTES) -> bytes:
    """A request frame, padded as nodes pad theirs (a node challenges the sender of an unpadded one
    not at all: its challenges to a sender's contact are at most 3x the request)."""
    rpc = b"\x00" + os.urandom(20) + umsgpack.packb([method, args])
    return encode_frame(rpc, secret=None, client=False, contact=contact, pad_to=pad_to)


def ping(contact: Contact, node_id: bytes, pad_to: int = REQUEST_PAD_BYTES) -> bytes:
    return request("ping", [node_id], contact, pad_to)


class Peer(asyncio.DatagramProtocol):
    def __init__(self, identity: NodeIdentity | None = None, mode: str = "honest") -> None:
        assert mode in MODES
        self.identity = identity or NodeIdentity.generate()
        self.mode = mode
        self.transport: Any = None
        self.port = 0
        self.host = HOST
        self.challenges = 0  # prove requests received
        self.received_bytes = 0
        self._waiting: dict[bytes, asyncio.Future[bytes]] = {}

    @property
    def node_id(self) -> bytes:
        return self.identity.node_id_bytes

    @property
    def contact(self) -> Contact:
        return Contact(self.host, self.port)

    async def start(self, host: str = HOST) -> Peer:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, 0))
        assert self.transport is not None
        self.host, self.port = self.transport.get_extra_info("sockname")[:2]
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received_bytes += len(data)
        frame = decode_frame(data, secret=None)
        if frame is None or len(frame.payload) < 21:
            return
        kind, msg_id, body = frame.payload[:1], frame.payload[1:21], frame.payload[21:]
        if kind == b"\x01":
            waiting = self._waiting.pop(msg_id, None) or self._waiting.pop(b"", None)
            if waiting is not None and not waiting.done():
                waiting.set_result(data)
            return
        method, args = umsgpack.unpackb(body)
        if method == "prove":
            self.challenges += 1
            self._prove(msg_id, args, addr)

    def _prove(self, msg_id: bytes, args: list[Any], addr: tuple[str, int]) -> None:
        if self.mode == "silent" or self.transport is None:
            return
        challenger, nonce = args
        answer = answer_challenge(self.identity, nonce, challenger, self.contact, None)
        if self.mode == "bad-sig":  # a real signature by its key, over another challenge
            answer[1] = answer_challenge(self.identity, os.urandom(16), challenger, self.contact, None)[1]
        reply = b"\x01" + msg_id + umsgpack.packb(answer)
        self.transport.sendto(encode_frame(reply, secret=None, client=False, contact=self.contact), addr)

    async def ask(self, datagram: bytes, to: int, wait: float = 0.5, host: str = HOST) -> bytes | None:
        """Send ``datagram`` (a request frame; anything else: any answer counts) and return the reply to
        it, or None after ``wait`` s."""
        frame = decode_frame(datagram, secret=None)
        assert self.transport is not None
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[frame.payload[1:21] if frame is not None else b""] = future
        self.transport.sendto(datagram, (host, to))
        try:
            return await asyncio.wait_for(future, wait)
        except TimeoutError:
            return None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
