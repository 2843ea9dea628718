"""``SwarmProtocol``: kademlia's protocol hardened and extended for entry sets.

- every datagram is framed by ``wire`` (size limit, optional HMAC, client flag); bad frames are dropped;
- senders flagged as clients are answered but never added to the routing table;
- opaque ``store``/``find_value`` are disabled; ``store_entry`` stores one signed record under a key name
  and ``find_entries`` returns a page of a key's entries (plus the closest nodes on the first page);
- no key hand-over on first contact: nodes republish every heartbeat instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from kademlia.node import Node
from kademlia.protocol import KademliaProtocol

from llamanet.swarm.errors import InvalidRecordError, StorageFullError
from llamanet.swarm.storage import EntryStore
from llamanet.swarm.wire import decode_frame, encode_frame

log = logging.getLogger(__name__)

_from_client: contextvars.ContextVar[bool] = contextvars.ContextVar("swarm_from_client", default=False)
RpcResult = tuple[bool, Any]


class FramedTransport:
    """Wraps the datagram transport so every outgoing packet (request or response) is framed."""

    def __init__(self, inner: Any, secret: bytes | None, client: bool) -> None:
        self._inner = inner
        self._secret = secret
        self._client = client

    def sendto(self, data: bytes, addr: Any) -> None:
        self._inner.sendto(encode_frame(data, secret=self._secret, client=self._client), addr)

    def close(self) -> None:
        self._inner.close()


def sane_nodes(raw: Any, limit: int) -> list[Node]:
    """Contacts from an untrusted ``find_node`` answer; malformed tuples are dropped."""
    if not isinstance(raw, list):
        return []
    nodes = []
    for item in raw[:limit]:
        if (
            isinstance(item, list | tuple)
            and len(item) == 3
            and isinstance(item[0], bytes)
            and len(item[0]) == 20
            and isinstance(item[1], str)
            and isinstance(item[2], int)
            and 0 < item[2] < 65536
        ):
            nodes.append(Node(item[0], item[1], item[2]))
    return nodes


class SwarmProtocol(KademliaProtocol):  # type: ignore[misc]
    def __init__(
        self,
        source_node: Node,
        storage: EntryStore,
        ksize: int,
        *,
        secret: bytes | None,
        client_mode: bool,
        rpc_timeout_s: float,
        page_budget_bytes: int,
    ) -> None:
        super().__init__(source_node, storage, ksize)
        self._wait_timeout = rpc_timeout_s
        self._secret = secret
        self.client_mode = client_mode
        self._page_budget = page_budget_bytes
        self.entries: EntryStore = storage
        self.dropped_datagrams = 0
        self.rejected_stores = 0
        self._pending: set[asyncio.Future[None]] = set()

    # -- framing ---------------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = FramedTransport(transport, self._secret, self.client_mode)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        frame = decode_frame(data, secret=self._secret)
        if frame is None or (self.client_mode and frame.payload[:1] == b"\x00"):
            self.dropped_datagrams += 1
            return
        token = _from_client.set(frame.from_client)
        try:
            task = asyncio.ensure_future(self._solve_datagram(frame.payload, addr))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        finally:
            _from_client.reset(token)

    async def _solve_datagram(self, datagram: bytes, address: Any) -> None:
        try:
            await super()._solve_datagram(datagram, address)
        except Exception as exc:  # malformed input from the network must never kill the loop
            self.dropped_datagrams += 1
            log.debug("dropping malformed datagram from %s: %s", address, exc)

    async def _accept_request(self, msg_id: bytes, data: Any, address: Any) -> None:
        try:
            await super()._accept_request(msg_id, data, address)
        except Exception as exc:
            self.dropped_datagrams += 1
            log.debug("dropping bad request from %s: %s", address, exc)

    # -- routing table -----------------------------------------------------------------------------
    def welcome_if_new(self, node: Node) -> None:
        if _from_client.get() or not isinstance(node.id, bytes) or len(node.id) != 20:
            return
        if node.id != self.source_node.id and self.router.is_new_node(node):
            self.router.add_contact(node)

    async def call_find_node(self, node_to_ask: Node, node_to_find: Node) -> RpcResult:
        ok, answer = await super().call_find_node(node_to_ask, node_to_find)
        return ok, [tuple(n) for n in sane_nodes(answer, self.router.ksize)] if ok else answer

    # -- RPCs served -------------------------------------------------------------------------------
    def rpc_store(self, sender: Any, nodeid: bytes, key: bytes, value: Any) -> bool:
        return False

    def rpc_find_value(self, sender: Any, nodeid: bytes, key: bytes) -> Any:
        return self.rpc_find_node(sender, nodeid, key)

    def rpc_store_entry(self, sender: Any, nodeid: bytes, key: str, raw: str) -> bool:
        if _from_client.get() or self.client_mode or not isinstance(key, str) or not isinstance(raw, str):
            return False
        self.welcome_if_new(Node(nodeid, sender[0], sender[1]))
        try:
            self.entries.put(key, raw)
        except (InvalidRecordError, StorageFullError) as exc:
            self.rejected_stores += 1
            log.debug("rejected store of %r from %s: %s", key, sender, exc)
            return False
        return True

    def rpc_find_entries(self, sender: Any, nodeid: bytes, dkey: bytes, after: str) -> dict[str, Any]:
        source = Node(nodeid, sender[0], sender[1])
        self.welcome_if_new(source)
        entries, cursor = self.entries.page(dkey, after, self._page_budget)
        answer: dict[str, Any] = {"entries": entries, "next": cursor}
        if not after:
            neighbors = self.router.find_neighbors(Node(dkey), exclude=source)
            answer["nodes"] = [tuple(n) for n in neighbors]
        return answer

    # -- RPCs called -------------------------------------------------------------------------------
    async def call_store_entry(self, node: Node, key: str, raw: str) -> bool:
        result = await self.store_entry((node.ip, node.port), self.source_node.id, key, raw)
        self.handle_call_response(result, node)
        return bool(result[0] and result[1] is True)

    async def call_find_entries(self, node: Node, dkey: bytes, after: str = "") -> RpcResult:
        result = await self.find_entries((node.ip, node.port), self.source_node.id, dkey, after)
        ok, answer = self.handle_call_response(result, node)
        return bool(ok), answer
