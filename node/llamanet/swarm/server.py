"""``SwarmServer``: kademlia's ``Server`` wired to our protocol and storage, with entry-set store/lookup."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kademlia.crawling import NodeSpiderCrawl
from kademlia.network import Server
from kademlia.node import Node
from kademlia.utils import digest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.contact import unusable_reason
from llamanet.swarm.crawl import EntryCrawl
from llamanet.swarm.errors import InvalidRecordError, NotStartedError, StorageFullError
from llamanet.swarm.lookup import records_from_entries
from llamanet.swarm.peers import resolve_host
from llamanet.swarm.protocol import Chain, SwarmProtocol
from llamanet.swarm.storage import EntryStore
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import NodeRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lookup:
    """A key lookup's visible records and how it went (for benchmarks and status)."""

    records: list[NodeRecord]
    rounds: int
    responders: int
    raw_entries: int


class SwarmServer(Server):  # type: ignore[misc]
    def __init__(
        self,
        config: SwarmConfig,
        node_id: bytes,
        *,
        client_mode: bool,
        clock: Callable[[], float],
        identity: NodeIdentity | None = None,
        chain: Chain | None = None,
    ) -> None:
        """``identity`` (a full member's key, whose id ``node_id`` is) answers contact challenges;
        ``chain`` says its certificate chain now."""
        super().__init__(config.ksize, config.alpha, node_id, EntryStore(config.limits, config.caps, clock))
        self.identity = identity
        self.chain = chain
        self.config = config
        self.client_mode = client_mode
        self.clock = clock
        self.entries: EntryStore = self.storage
        # the DHT host put in every frame: an address literal (``SwarmNode`` resolves a configured name)
        self.advertise_host: str | None = None
        self._unresolved_logged = False

    def readvertise(self, host: str | None) -> None:
        """Put ``host`` (an IPv4 literal, or None: the bind address, until ``resolve_advertised``
        resolves ``config.advertise_host``) and ``config.advertise_port`` in every frame from now on."""
        self.advertise_host = host
        self._unresolved_logged = self._unresolved_logged and host is not None
        if self.protocol is not None:
            self.swarm_protocol.set_advertise(host, self.config.advertise_port)

    async def resolve_advertised(self) -> None:
        """Put ``config.advertise_host`` in frames as an address (a name is resolved, and retried at each
        call until it resolves: a pod's DNS name may appear only once the pod is ready)."""
        name = self.config.advertise_host
        if not name or self.advertise_host is not None:
            return
        address = await resolve_host(name)
        if address is None:
            if not self._unresolved_logged:
                log.warning("advertised host %s does not resolve yet: peers use our packets' source", name)
                self._unresolved_logged = True
            return
        why = unusable_reason(address)
        if why is not None and not address.startswith("127."):
            log.warning(
                "advertised DHT host %s (%s) is %s: peers will drop our datagrams", name, address, why
            )
        self.readvertise(address)

    def _create_protocol(self) -> SwarmProtocol:
        return SwarmProtocol(
            self.node,
            self.entries,
            self.ksize,
            secret=self.config.secret,
            client_mode=self.client_mode,
            rpc_timeout_s=self.config.rpc_timeout_s,
            page_budget_bytes=self.config.page_budget_bytes,
            advertise_host=self.advertise_host,
            advertise_port=self.config.advertise_port,
            frame_window_s=self.config.frame_window_s,
            frame_replay_entries=self.config.frame_replay_entries,
            max_contacts_per_ip=self.config.max_contacts_per_ip,
            identity=self.identity,
            chain=self.chain,
            authorities=self.config.limits.authorities,
            clock_skew_s=self.config.limits.clock_skew_s,
            retry_s=self.config.rpc_retry_s,
            retries=self.config.rpc_retries,
        )

    @property
    def swarm_protocol(self) -> SwarmProtocol:
        if self.protocol is None:
            raise NotStartedError("the DHT server is not listening")
        protocol: SwarmProtocol = self.protocol
        return protocol

    def bound_port(self) -> int:
        if self.transport is None:
            raise NotStartedError("the DHT server is not listening")
        return int(self.transport.get_extra_info("sockname")[1])

    async def join(self, addrs: list[tuple[str, int]]) -> bool:
        """Ping the given (ip, port) peers and crawl towards our own id; True if any peer answered."""
        return bool(await self.join_answers(addrs))

    async def join_answers(self, addrs: list[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
        """Ping the given (ip, port) peers, crawl towards our own id from those that answered, and say
        which node id answered at each address. Returns once the contacts met have proved their ids
        (or failed to), so they are in the routing table by then."""
        answered = await asyncio.gather(*(self.bootstrap_node(addr) for addr in addrs))
        found = {addr: node for addr, node in zip(addrs, answered, strict=True) if node is not None}
        others = [node for node in found.values() if node.id != self.node.id]
        if others:
            await NodeSpiderCrawl(self.swarm_protocol, self.node, others, self.ksize, self.alpha).find()
            await self.swarm_protocol.admission.settle()
        return {addr: node.id for addr, node in found.items()}

    def table_ids(self) -> set[bytes]:
        """The node ids in our routing table now."""
        return {node.id for bucket in self.swarm_protocol.router.buckets for node in bucket.get_nodes()}

    async def store_entry(self, key: str, raw: str) -> int:
        """Store ``raw`` under ``key`` at the k closest peers (and here, if we are among them).

        Returns how many peers (including this one) accepted it.
        """
        target = Node(digest(key))
        nearest = self.swarm_protocol.router.find_neighbors(target)
        nodes: list[Node] = []
        if nearest:
            nodes = await NodeSpiderCrawl(self.swarm_protocol, target, nearest, self.ksize, self.alpha).find()
        accepted = 0
        farthest = max((n.distance_to(target) for n in nodes), default=0)
        if not self.client_mode and (len(nodes) < self.ksize or self.node.distance_to(target) < farthest):
            try:
                self.entries.put(key, raw)
                accepted += 1
            except (InvalidRecordError, StorageFullError):
                pass
        results = await asyncio.gather(*(self.swarm_protocol.call_store_entry(n, key, raw) for n in nodes))
        return accepted + sum(results)

    async def lookup(self, key: str) -> Lookup:
        """Union of ``key``'s entries over the k closest peers, validated and merged."""
        dkey = digest(key)
        raw = [entry.raw for entry in self.entries.entries(dkey)]
        rounds = responders = 0
        nearest = self.swarm_protocol.router.find_neighbors(Node(dkey))
        if nearest:
            crawl = EntryCrawl(self.swarm_protocol, dkey, nearest, self.ksize, self.alpha)
            raw.extend(await crawl.find())
            rounds, responders = crawl.rounds, crawl.responders
        records = records_from_entries(key, raw, now=self.clock(), limits=self.config.limits)
        return Lookup(records, rounds, responders, len(raw))

    def routing_snapshot(self) -> dict[str, Any]:
        router = self.swarm_protocol.router
        peers = [
            {"id": node.id.hex(), "ip": node.ip, "port": node.port}
            for bucket in router.buckets
            for node in bucket.get_nodes()
        ]
        return {
            "size": len(peers),
            "buckets": [{"depth": b.depth() if len(b) else 0, "size": len(b)} for b in router.buckets],
            "peers": peers,
        }

    def stop(self) -> None:
        if self.protocol is not None:
            self.swarm_protocol.admission.close()
        super().stop()

    def close(self) -> None:
        self.stop()


def wall_clock() -> float:
    return time.time()
