"""``SwarmProtocol``: kademlia's protocol hardened and extended for entry sets.

- every datagram is framed by ``wire`` (frame v2: size limit, optional HMAC, client flag, the sender's
  advertised contact); bad frames are dropped, v1 frames are named once per address in the log;
- a frame whose timestamp is off our clock by more than the replay window, or whose nonce was seen
  within it, is dropped (a captured frame replayed, from any source, gets no second answer);
- a sender that has not proved its address (answered an RPC of ours) gets at most 3x the bytes it sent
  (``transport``): a spoofed source cannot make us a reflector;
- senders flagged as clients are answered but never added to the routing table;
- a contact (a sender, at its advertised contact; a node that answered, at the address asked) is filed
  only once it proved, by the ``prove`` RPC, that its id is its key's (``admission``, ``proofs``); this
  node answers ``prove`` with its key, a signature and (with one) its certificate chain;
- a request unanswered after ``retry_s`` is sent again (``rpc``);
- opaque ``store``/``find_value`` are disabled; ``store_entry`` stores one signed record under a key name
  and ``find_entries`` returns a page of a key's entries (plus the closest nodes on the first page);
- no key hand-over on first contact: nodes republish every heartbeat instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from typing import Any

import umsgpack
from kademlia.node import Node

from llamanet.swarm.admission import Admission
from llamanet.swarm.contact import contact_address, own_contact, sane_nodes
from llamanet.swarm.errors import InvalidRecordError, RecordFormatError, StorageFullError
from llamanet.swarm.proofs import NONCE_BYTES, answer_challenge
from llamanet.swarm.rpc import RetryingProtocol
from llamanet.swarm.storage import EntryStore
from llamanet.swarm.transport import (
    AMPLIFICATION,
    REPLY_RESERVE_BYTES,
    FramedTransport,
    fit_reply,
    reply_limit,
)
from llamanet.swarm.wire import REQUEST_PAD_BYTES, Frame, decode_frame, is_v1_frame
from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import ReplayCache

log = logging.getLogger(__name__)

_from_client: contextvars.ContextVar[bool] = contextvars.ContextVar("swarm_from_client", default=False)
# the (host, port) the frame being handled advertises, checked by ``contact.contact_address``
_contact: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
    "swarm_contact", default=None
)
# the size of the request being handled: what the challenge its sender triggers may send (3x)
_request_bytes: contextvars.ContextVar[int] = contextvars.ContextVar("swarm_request_bytes", default=0)
RpcResult = tuple[bool, Any]
Chain = Callable[[], list[dict[str, Any]] | None]
MAX_NAMED_PEERS = 1024  # addresses already named in a log line (v1 frames, bad contacts)


class SwarmProtocol(RetryingProtocol):
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
        advertise_host: str | None = None,
        advertise_port: int | None = None,
        frame_window_s: float = 60.0,
        frame_replay_entries: int = 200_000,
        max_contacts_per_ip: int = 256,
        identity: NodeIdentity | None = None,
        chain: Chain | None = None,
        authorities: frozenset[str] = frozenset(),
        clock_skew_s: float = 5.0,
        retry_s: float = 0.3,
        retries: int = 3,
    ) -> None:
        super().__init__(source_node, storage, ksize, retry_s=retry_s, retries=retries)
        # nonces of frames seen within the window, from any source: a replay is dropped
        self._replays = ReplayCache(window_s=frame_window_s, max_entries=frame_replay_entries)
        self._wait_timeout = rpc_timeout_s
        self._secret = secret
        self.client_mode = client_mode
        self._page_budget = page_budget_bytes
        self.entries: EntryStore = storage
        self.dropped_datagrams = 0
        self.rejected_stores = 0
        self._pending: set[asyncio.Future[None]] = set()
        self._advertise = (advertise_host, advertise_port)
        self._bound = ("", 0)
        self._named: set[tuple[str, str]] = set()
        self._identity = identity
        self._chain: Chain = chain or (lambda: None)
        self.admission = Admission(
            self.router,
            source_node.id,
            lambda where, nonce, sends: self._call(
                "prove", where, (self.source_node.id, nonce), None if sends is None else sends - 1
            ),
            authorities=authorities,
            clock_skew_s=clock_skew_s,
            max_contacts_per_ip=max_contacts_per_ip,
        )

    # -- framing ---------------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        bound = transport.get_extra_info("sockname")
        self._bound = (str(bound[0]), int(bound[1]))
        contact = own_contact(self._advertise[0], self._bound, self._advertise[1])
        self.transport = FramedTransport(transport, self._secret, self.client_mode, contact)

    def set_advertise(self, host: str | None, port: int | None) -> None:
        """Advertise ``host`` (an address literal, None: none yet) and ``port`` (None: the bound one) from
        now on, e.g. once a configured name resolves or the advertise file names a new address."""
        self._advertise = (host, port)
        if isinstance(self.transport, FramedTransport):
            self.transport.contact = own_contact(host, self._bound, port)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        frame = decode_frame(data, secret=self._secret)
        if frame is not None and not self._fresh(frame, addr):
            frame = None
        if frame is None or (self.client_mode and frame.payload[:1] == b"\x00"):
            self.dropped_datagrams += 1
            if frame is None and is_v1_frame(data):
                self._name_once("v1", addr, "peer %s:%s speaks frame v1; this node speaks v2: upgrade it")
            return
        where = contact_address(frame.contact, (str(addr[0]), int(addr[1])))
        if where is None and not frame.from_client:
            self.dropped_datagrams += 1
            self._name_once("contact", addr, f"peer %s:%s advertises an unusable contact {frame.contact}")
            return
        source = (str(addr[0]), int(addr[1]))
        limit = None if source in self.proven else AMPLIFICATION * len(data)
        tokens = (_from_client.set(frame.from_client), _contact.set(where), reply_limit.set(limit))
        size = _request_bytes.set(len(data))
        try:
            task = asyncio.ensure_future(self._solve_datagram(frame.payload, addr))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        finally:
            _request_bytes.reset(size)
            reply_limit.reset(tokens[2])
            _contact.reset(tokens[1])
            _from_client.reset(tokens[0])

    def _fresh(self, frame: Frame, addr: Any) -> bool:
        """Within the replay window of our clock and never seen before (a replay, or a stale frame)."""
        now = time.time()
        window = self._replays.window_s
        skew_s = abs(now - frame.timestamp_ms / 1000)
        if skew_s > window:
            self._name_once(
                "clock", addr, f"peer %s:%s sends frames {skew_s:.0f}s off our clock (window {window:.0f}s)"
            )
            return False
        return self._replays.check_and_add("", frame.nonce.hex(), now)

    def _name_once(self, kind: str, addr: Any, message: str) -> None:
        key = (kind, str(addr[0]))
        if key not in self._named and len(self._named) < MAX_NAMED_PEERS:
            self._named.add(key)
            log.warning(message, addr[0], addr[1])

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
    def welcome_if_new(self, node: Node, sends: int | None = None) -> None:
        """Offer ``node`` to ``admission`` if new: kademlia calls this when a node answered at ``node``'s
        address (filed once it proves its id there)."""
        if _from_client.get() or not isinstance(node.id, bytes) or len(node.id) != 20:
            return
        if node.id != self.source_node.id and self.router.is_new_node(node):
            self.admission.offer(node, sends)

    def sender(self, nodeid: Any, source: Any) -> Node:
        """The sender of the request being handled, at its advertised contact, offered to ``admission``
        if new (filed once it proves its id there). Its packet's source may be spoofed, so the padded
        challenges sent to its contact are at most 3x its request (an unpadded request gets none)."""
        where = _contact.get() or (str(source[0]), int(source[1]))
        node = Node(nodeid, where[0], where[1])
        self.welcome_if_new(node, AMPLIFICATION * _request_bytes.get() // REQUEST_PAD_BYTES)
        return node

    @property
    def refused_contacts(self) -> int:
        return self.admission.refused_contacts

    async def call_find_node(self, node_to_ask: Node, node_to_find: Node) -> RpcResult:
        ok, answer = await super().call_find_node(node_to_ask, node_to_find)
        return ok, [tuple(n) for n in sane_nodes(answer, self.router.ksize)] if ok else answer

    # -- RPCs served -------------------------------------------------------------------------------
    def rpc_prove(self, sender: Any, nodeid: bytes, nonce: bytes) -> list[Any] | None:
        """Our answer to a contact challenge (``proofs``); the challenger is not filed for asking."""
        if self._identity is None or not isinstance(nonce, bytes) or len(nonce) != NONCE_BYTES:
            return None
        if not isinstance(nodeid, bytes) or len(nodeid) != 20:
            return None
        contact = self.transport.contact
        answer = answer_challenge(self._identity, nonce, nodeid, contact, self._chain())
        limit = reply_limit.get()
        if answer[4] and limit is not None and len(umsgpack.packb(answer)) > limit - REPLY_RESERVE_BYTES:
            self._name_once("chain", sender, "our certificate chain does not fit a proof answer to %s:%s")
            answer[4] = None  # the challenger learns who we are, though not that we are a member
        return answer

    def rpc_ping(self, sender: Any, nodeid: bytes) -> bytes:
        self.sender(nodeid, sender)
        source_id: bytes = self.source_node.id
        return source_id

    def rpc_find_node(self, sender: Any, nodeid: bytes, key: bytes) -> list[tuple[Any, ...]]:
        source = self.sender(nodeid, sender)
        if not isinstance(key, bytes):
            return []
        neighbors = [tuple(n) for n in self.router.find_neighbors(Node(key), exclude=source)]
        return fit_reply(neighbors, reply_limit.get())

    def rpc_store(self, sender: Any, nodeid: bytes, key: bytes, value: Any) -> bool:
        return False

    def rpc_find_value(self, sender: Any, nodeid: bytes, key: bytes) -> Any:
        return self.rpc_find_node(sender, nodeid, key)

    def rpc_store_entry(self, sender: Any, nodeid: bytes, key: str, raw: str) -> bool:
        if _from_client.get() or self.client_mode or not isinstance(key, str) or not isinstance(raw, str):
            return False
        self.sender(nodeid, sender)
        try:
            self.entries.put(key, raw, source=str(sender[0]))
        except (InvalidRecordError, StorageFullError) as exc:
            if isinstance(exc, RecordFormatError):
                self._name_once("format", sender, f"peer %s:%s stored a {exc}: upgrade one of us")
            self.rejected_stores += 1
            log.debug("rejected store of %r from %s: %s", key, sender, exc)
            return False
        return True

    def rpc_find_entries(self, sender: Any, nodeid: bytes, dkey: bytes, after: str) -> dict[str, Any]:
        source = self.sender(nodeid, sender)
        limit = reply_limit.get()
        nodes: list[tuple[Any, ...]] = []
        if not after:
            neighbors = [tuple(n) for n in self.router.find_neighbors(Node(dkey), exclude=source)]
            nodes = fit_reply(neighbors, None if limit is None else limit // 3)
        budget = self._page_budget
        if limit is not None:  # what is left of the limit once the nodes are in
            budget = min(budget, limit - REPLY_RESERVE_BYTES - len(umsgpack.packb(nodes)))
        entries, cursor = self.entries.page(dkey, after, budget)
        answer: dict[str, Any] = {"entries": entries, "next": cursor}
        if not after:
            answer["nodes"] = nodes
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
