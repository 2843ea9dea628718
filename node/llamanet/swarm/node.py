"""``SwarmNode``: a full DHT member that republishes its signed record every heartbeat and looks others up."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.errors import NotStartedError
from llamanet.swarm.keys import ALL_NODES_KEY, model_key, node_key, record_keys
from llamanet.swarm.peers import Address, peers_to_join, resolve_peers, retry_until_done
from llamanet.swarm.server import SwarmServer, wall_clock
from llamanet_common.addresses import parse_peers
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import NodeRecord, RecordFields, build_record

log = logging.getLogger(__name__)

RecordFactory = Callable[[], RecordFields | Awaitable[RecordFields]]


class SwarmNode:
    def __init__(
        self,
        identity: NodeIdentity,
        config: SwarmConfig | None = None,
        record_factory: RecordFactory | None = None,
        clock: Callable[[], float] = wall_clock,
    ) -> None:
        self.identity = identity
        self.config = config or SwarmConfig()
        self._record_factory = record_factory
        self._clock = clock
        self._server: SwarmServer | None = None
        self._peers: list[tuple[str, int]] = []
        # which node answered at each configured (resolved) bootstrap address
        self._answered: dict[Address, bytes] = {}
        self._bind_host = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._join_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._seq = 0
        self._last_record: NodeRecord | None = None
        self._published_models: set[str] = set()
        self._chain: list[dict[str, Any]] | None = None  # our certificate chain, as our records carry it
        self.joined = False

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    @property
    def server(self) -> SwarmServer:
        if self._server is None:
            raise NotStartedError("SwarmNode.start() was not called")
        return self._server

    @property
    def dht_port(self) -> int:
        return self.server.bound_port()

    def advertised_address(self) -> tuple[str, int]:
        host = self.config.advertise_host or self._bind_host
        return host, self.config.advertise_port or self.dht_port

    def readvertise(self, host: str, port: int) -> None:
        """Advertise ``host:port`` from now on: the next record carries it, and so does every frame (the
        port at once, the host as soon as it resolves)."""
        self.config = replace(self.config, advertise_host=host, advertise_port=port)
        if self._server is not None:
            self._server.config = self.config
            # frames carry the new port now and the new host as soon as it resolves
            self._server.readvertise(None)
            self._spawn(self._resolve_advertised())

    async def start(
        self, bind_host: str = "0.0.0.0", dht_port: int = 0, bootstrap: Sequence[str] = ()
    ) -> None:
        """Listen, join via ``bootstrap`` ("host:port,...") or found a new swarm, and start heartbeats.

        If no bootstrap peer answers, joining is retried in the background with capped backoff. The
        first record's fields (its certificate chain: our contact proofs carry it) are read before the join.
        """
        self._peers = parse_peers(",".join(bootstrap))
        self._bind_host = bind_host
        self._server = SwarmServer(
            self.config,
            self.identity.node_id_bytes,
            client_mode=False,
            clock=self._clock,
            identity=self.identity,
            chain=lambda: self._chain,
        )
        await self._resolve_advertised()
        await self._server.listen(dht_port, bind_host)
        first = await self._fields()
        if self._peers and not (await self._try_join())[1]:
            self._ensure_join_task()
        if self._record_factory is not None:
            await self._heartbeat_once(first)
            self._heartbeat_task = self._spawn(self._heartbeat_loop())

    async def _resolve_advertised(self) -> None:
        await self.server.resolve_advertised()

    async def _missing_peers(self) -> list[Address]:
        """The configured peers to ping now (``peers_to_join``)."""
        return self._missing_among(await resolve_peers(self._peers))

    def _missing_among(self, addrs: list[Address]) -> list[Address]:
        own = self.identity.node_id_bytes
        return peers_to_join(addrs, self._answered, self.server.table_ids(), own)

    async def _try_join(self) -> tuple[bool, bool]:
        """Ping the configured peers not in our table: (did another node answer, has every configured
        peer that resolves answered now)."""
        addrs = await resolve_peers(self._peers)  # once per try: the check after the join reuses it
        missing = self._missing_among(addrs)
        reached = False
        if missing:
            answered = await self.server.join_answers(missing)
            self._answered.update(answered)
            for addr, node_id in answered.items():
                if node_id != self.identity.node_id_bytes:
                    reached = self.joined = True
                    log.info("reached bootstrap peer %s:%d", *addr)
        return reached, not self._missing_among(addrs)

    def _ensure_join_task(self) -> None:
        if self._join_task is None or self._join_task.done():
            self._join_task = self._spawn(self._join_loop())

    async def _join_loop(self) -> None:
        """Retry the configured peers that have not answered (or dropped out of our table) with capped
        backoff until all are back; the heartbeat starts this again whenever one goes missing. Tries
        overlap (``retry_until_done``): none waits for the pings of the one before to time out."""
        await retry_until_done(self._join_try, self.config.retry_delay)

    async def _join_try(self, attempt: int) -> bool:
        """Try ``attempt`` of the join loop: has every configured peer answered now."""
        reached, done = await self._try_join()
        if reached:
            log.info("joined peers after %d retries", attempt + 1)
            # publish at once, so the peers just reached find us without waiting for a beat
            if self._last_record is not None and not self._last_record.withdrawn:
                await self._heartbeat_once()
        return done

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval_s)
            await self._resolve_advertised()
            self.server.swarm_protocol.admission.expire()
            if self._peers and await self._missing_peers():
                self._ensure_join_task()
            await self._heartbeat_once()

    @property
    def last_record(self) -> NodeRecord | None:
        """The record this node last published (a tombstone after ``withdraw``)."""
        return self._last_record

    async def republish(self) -> None:
        """Publish a fresh record now (e.g. the model just became ready) instead of at the next beat."""
        await self._heartbeat_once()

    async def _fields(self) -> RecordFields | None:
        """This beat's record fields (None: no record factory, or it failed)."""
        try:
            fields = self._record_factory() if self._record_factory is not None else None
            if inspect.isawaitable(fields):
                fields = await fields
        except Exception:
            log.exception("reading this node's record fields failed")
            return None
        if fields is not None:
            self._chain = fields.cert
        return fields

    async def _heartbeat_once(self, fields: RecordFields | None = None) -> None:
        if fields is None:
            fields = await self._fields()
        if fields is None:
            return
        try:
            await self.publish(fields)
        except Exception:
            log.exception("heartbeat publish failed")

    def _next_seq(self) -> int:
        # Millisecond clock keeps sequence numbers increasing across restarts of the same identity.
        self._seq = max(self._seq + 1, int(self._clock() * 1000))
        return self._seq

    def _build(self, fields: RecordFields, *, withdrawn: bool) -> NodeRecord:
        host, port = self.advertised_address()
        return build_record(
            fields,
            self.identity,
            dht_host=host,
            dht_port=port,
            seq=self._next_seq(),
            expires_at=self._clock() + self.config.record_ttl_s,
            withdrawn=withdrawn,
        )

    async def publish(self, fields: RecordFields) -> NodeRecord:
        """Sign and store our record under ``node:{id}``, ``all_nodes`` and each ``model:{name}``.

        Model keys we no longer serve get a tombstone, so we vanish from them at once.
        """
        record = self._build(fields, withdrawn=False)
        dropped = sorted(self._published_models - set(record.models))
        stores = [self.server.store_entry(key, record.to_json()) for key in record_keys(record)]
        if dropped:
            tombstone = record.model_copy(update={"withdrawn": True})
            tombstone_raw = tombstone.model_copy(
                update={"signature": self.identity.sign(tombstone.canonical_bytes())}
            ).to_json()
            stores += [self.server.store_entry(model_key(m), tombstone_raw) for m in dropped]
        self._last_record = record
        self._published_models = set(record.models)
        await asyncio.gather(*stores)
        return record

    async def withdraw(self) -> None:
        """Stop heartbeats and replace our entries with signed tombstones (higher seq) right away."""
        self._cancel(self._heartbeat_task)
        self._heartbeat_task = None
        last = self._last_record
        if last is None or last.withdrawn:
            return
        fields = RecordFields.model_validate(last.model_dump(include=set(RecordFields.model_fields)))
        tombstone = self._build(fields, withdrawn=True)
        self._last_record = tombstone
        raw = tombstone.to_json()
        await asyncio.gather(*(self.server.store_entry(key, raw) for key in record_keys(last)))

    async def get_nodes(self, model: str | None = None) -> list[NodeRecord]:
        """Live, validated, deduplicated records of every node (or of those serving ``model``)."""
        key = model_key(model) if model else ALL_NODES_KEY
        return (await self.server.lookup(key)).records

    async def get_node(self, node_id: str) -> NodeRecord | None:
        """The live, validated record of ``node_id`` (looked up under ``node:{id}``), if any."""
        found = (await self.server.lookup(node_key(node_id))).records
        return next((r for r in found if r.node_id == node_id), None)

    async def stop(self, *, withdraw: bool = True, timeout_s: float = 5.0) -> None:
        """Leave the swarm; with ``withdraw=False`` our entries simply expire (like a crash)."""
        if self._server is None:
            return
        if withdraw:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.withdraw(), timeout_s)
        for task in list(self._tasks):
            self._cancel(task)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._server.stop()
        self._server = None

    def status(self) -> dict[str, Any]:
        """Snapshot for ``GET /dht/status``."""
        routing = self.server.routing_snapshot()
        host, port = self.advertised_address()
        return {
            "node_id": self.node_id,
            "dht": {"bind_host": self._bind_host, "port": self.dht_port, "advertise": [host, port]},
            "joined": self.joined or not self._peers,
            "peers": routing.pop("peers"),
            "routing_table": routing,
            "seq": self._seq,
            "storage": self.server.entries.snapshot(),
            "dropped_datagrams": self.server.swarm_protocol.dropped_datagrams,
            "refused_contacts": self.server.swarm_protocol.refused_contacts,
            "refused_proofs": self.server.swarm_protocol.admission.refused_proofs,
            "rejected_stores": self.server.swarm_protocol.rejected_stores,
        }

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    def _cancel(task: asyncio.Task[None] | None) -> None:
        if task is not None and task is not asyncio.current_task():
            task.cancel()
