"""Finding nodes: ``DhtDiscovery`` (read-only ``SwarmClient`` queries) or ``StaticDiscovery`` (fixed URLs).

Both cache their answer for ``cache_ttl`` seconds per model in routing's bounded ``LookupCache`` (the
node's directory uses the same type), so a burst of requests costs one lookup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from llamanet.client.errors import ClientError, DiscoveryError
from llamanet.client.transport import Transport
from llamanet.routing.lookup_cache import LookupCache
from llamanet.routing.view import NodeView, unreachable, view_from_record, view_from_url
from llamanet.swarm.client import SwarmClient
from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.errors import SwarmError
from llamanet_common.addresses import parse_peers
from llamanet_common.errors import PeerAddressError
from llamanet_common.status import BadStatusError, parse_status


class Discovery(Protocol):
    async def get_nodes(self, model: str | None = None, *, fresh: bool = False) -> list[NodeView]: ...

    def invalidate(self) -> None: ...

    async def close(self) -> None: ...


class DhtDiscovery:
    """Nodes from the DHT via a read-only ``SwarmClient`` (started on first use)."""

    def __init__(
        self,
        bootstrap: str | Sequence[str],
        config: SwarmConfig | None = None,
        cache_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        bind_host: str = "0.0.0.0",
    ) -> None:
        spec = bootstrap if isinstance(bootstrap, str) else ",".join(bootstrap)
        try:
            peers = parse_peers(spec)
        except PeerAddressError as exc:
            raise DiscoveryError(f"bad bootstrap nodes {spec!r}: {exc}") from exc
        if not peers:
            raise DiscoveryError("no bootstrap nodes given (expected 'host:port,...')")
        self.bootstrap = [f"{h}:{p}" if ":" not in h else f"[{h}]:{p}" for h, p in peers]
        self.config = config or SwarmConfig()
        self.bind_host = bind_host
        self._cache: LookupCache[list[NodeView]] = LookupCache(self._lookup, fresh_s=cache_ttl, clock=clock)
        self._swarm: SwarmClient | None = None
        self._lock = asyncio.Lock()

    async def _client(self) -> SwarmClient:
        async with self._lock:
            if self._swarm is None:
                swarm = SwarmClient(self.config)
                try:
                    joined = await swarm.start(self.bootstrap, bind_host=self.bind_host)
                except (SwarmError, OSError) as exc:
                    await swarm.close()
                    raise DiscoveryError(f"cannot query the swarm: {exc}") from exc
                if not joined:
                    await swarm.close()
                    raise DiscoveryError(f"no bootstrap node answered: {', '.join(self.bootstrap)}")
                self._swarm = swarm
            return self._swarm

    async def get_nodes(self, model: str | None = None, *, fresh: bool = False) -> list[NodeView]:
        """Live nodes from the DHT (those serving ``model``, or all), one per node id."""
        return list(await self._cache.get(model, fresh=fresh))

    async def _lookup(self, model: str | None) -> list[NodeView]:
        swarm = await self._client()
        try:
            records = await swarm.get_nodes(model)
        except SwarmError as exc:
            raise DiscoveryError(f"swarm lookup failed: {exc}") from exc
        nodes = [n for n in (view_from_record(r) for r in records) if n is not None]
        nodes.sort(key=lambda n: (n.name or "", n.node_id))
        return nodes

    def invalidate(self) -> None:
        self._cache.invalidate()

    async def close(self) -> None:
        if self._swarm is not None:
            await self._swarm.close()
            self._swarm = None


class StaticDiscovery:
    """A fixed list of node URLs, each described by a ``GET /status`` probe (unreachable: not ready)."""

    def __init__(
        self,
        urls: Sequence[str],
        transport: Transport,
        cache_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        probe_timeout: float = 3.0,
    ) -> None:
        if not urls:
            raise DiscoveryError("no node URLs given")
        self.nodes = [view_from_url(u) for u in urls]
        self._transport = transport
        self._cache: LookupCache[list[NodeView]] = LookupCache(
            self._probe_all, fresh_s=cache_ttl, clock=clock
        )
        self.probe_timeout = probe_timeout

    async def _probe(self, node: NodeView) -> NodeView:
        """The node as its validated ``/status`` describes it; unreachable or a bad answer: not ready."""
        try:
            status = parse_status(
                await self._transport.get_json(
                    node.url,
                    "/status",
                    timeout=self.probe_timeout,
                    authorized=True,  # the user's URL
                )
            )
        except (ClientError, BadStatusError):
            return unreachable(node)
        return node.with_status(status)

    async def _probe_all(self, _: str | None) -> list[NodeView]:
        return list(await asyncio.gather(*(self._probe(n) for n in self.nodes)))

    async def get_nodes(self, model: str | None = None, *, fresh: bool = False) -> list[NodeView]:
        nodes = await self._cache.get(None, fresh=fresh)  # one probe round for every model
        return [n for n in nodes if n.serves(model)]

    def invalidate(self) -> None:
        self._cache.invalidate()

    async def close(self) -> None:
        return None
