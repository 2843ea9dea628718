"""A misbehaving "node" for forwarding tests: a real asyncio HTTP server on 127.0.0.1 that answers
``GET /status`` like an idle, fast node (or a swamped one) and breaks every POST in a chosen way.

Behaviours for POST:
- ``"hang_up"``: read the request, close the connection without answering (a node that dies).
- ``"headers_only"``: send ``200`` and event-stream headers, then close before any body (dies before
  its first token).
- ``"one_chunk"``: send ``200``, one chunked SSE event with a token, then close mid-stream (dies
  after the first token: the entry resumes the stream elsewhere, or ends it with an error event).
- ``"huge"``: send ``200`` and an endless-looking chunked JSON body (``HUGE_BYTES``, 80 MiB).
- ``"stall"``: send ``200``, one SSE event with a token, then nothing for 60 s (a silent stream).
- ``"replay"``: send ``200`` and the bytes given as ``replay`` (the first events of a real node's stream,
  cut wherever the test likes), then close mid-stream (a node that dies after tokens reached the client).

Given the ``identity`` its record was signed with, it answers the proof of address (``/swarm/proof``)
like a node, so routers send it traffic; without one it cannot, as an impostor at a forged URL.
Every request's method, path and headers are kept in ``requests``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import PROOF_PATH, sign_address

Behaviour = Literal["hang_up", "headers_only", "one_chunk", "huge", "stall", "replay"]
HUGE_BYTES = 80 * 1024 * 1024

FIRST_TOKEN = "Hel"
IDLE = {  # better than any real node: a router that probes picks this one first
    "status": "ready",
    "load": 0.0,
    "queue_depth": 0,
    "active_requests": 0,
    "slots_total": 64,
    "slots_free": 64,
    "tokens_per_second": 1e6,
}
SWAMPED = {
    **IDLE,
    "load": 2.0,
    "queue_depth": 64,
    "active_requests": 64,
    "slots_free": 0,
    "tokens_per_second": 1.0,
}


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class FakeUpstream:
    def __init__(
        self,
        behaviour: Behaviour,
        status: dict[str, object] | None = None,
        identity: NodeIdentity | None = None,
        replay: bytes = b"",
    ) -> None:
        self.behaviour = behaviour
        self.replay = replay  # what "replay" streams before it breaks
        self.status = IDLE if status is None else status  # what GET /status answers
        self.identity = identity  # the record's key: proves the address when given
        self.posts: list[str] = []  # paths of the POSTs received
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, headers of each
        self.bodies: list[bytes] = []  # the body of each
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> FakeUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False closes the connection."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {
            k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
        }
        self.bodies.append(await reader.readexactly(int(headers.get("content-length", "0"))))
        self.requests.append((method, path, headers))
        if method == "GET" and path.startswith(PROOF_PATH):
            if self.identity is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                return True
            query = parse_qs(urlsplit(path).query)
            answer = sign_address(self.identity, query["u"][0], query["c"][0])
            return await self._json(writer, answer)
        if method == "GET" and path.startswith("/status"):
            return await self._json(writer, self.status)
        self.posts.append(path)
        if self.behaviour == "hang_up":
            return False
        if self.behaviour == "huge":
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            )
            block = _chunk(b" " * (1024 * 1024))
            for _ in range(HUGE_BYTES // (1024 * 1024)):
                writer.write(block)
                await writer.drain()
            return False
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        if self.behaviour in ("one_chunk", "stall"):
            event = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "model": "fake",
                "choices": [{"index": 0, "delta": {"content": FIRST_TOKEN}, "finish_reason": None}],
            }
            writer.write(_chunk(f"data: {json.dumps(event)}\n\n".encode()))
        if self.behaviour == "replay" and self.replay:
            writer.write(_chunk(self.replay))
        await writer.drain()
        await asyncio.sleep(60 if self.behaviour == "stall" else 0.2)  # then the connection breaks
        return False  # no terminating chunk: the stream is cut

    async def _json(self, writer: asyncio.StreamWriter, answer: object) -> bool:
        body = json.dumps(answer).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        return True
