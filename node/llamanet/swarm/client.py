"""``SwarmClient``: read-only swarm queries that never enter anyone's routing table.

Its datagrams carry the client flag (see ``wire``), so peers answer without adding it as a contact;
it answers no requests and stores nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.errors import NotStartedError, SwarmUnreachableError
from llamanet.swarm.keys import ALL_NODES_KEY, model_key
from llamanet.swarm.peers import resolve_peers
from llamanet.swarm.server import SwarmServer, wall_clock
from llamanet_common.addresses import parse_peers
from llamanet_common.record import NodeRecord


class SwarmClient:
    def __init__(self, config: SwarmConfig | None = None, clock: Callable[[], float] = wall_clock) -> None:
        self.config = config or SwarmConfig()
        self._clock = clock
        self._server: SwarmServer | None = None
        self._peers: list[tuple[str, int]] = []

    async def start(self, bootstrap: Sequence[str], bind_host: str = "0.0.0.0") -> bool:
        """Open a socket and learn contacts from ``bootstrap``; False if no peer answered yet."""
        self._peers = parse_peers(",".join(bootstrap))
        if not self._peers:
            raise SwarmUnreachableError("a swarm client needs at least one bootstrap peer")
        self._server = SwarmServer(self.config, os.urandom(20), client_mode=True, clock=self._clock)
        await self._server.listen(0, bind_host)
        return await self._join()

    async def _join(self) -> bool:
        addrs = await resolve_peers(self._peers)
        return bool(addrs) and await self.server.join(addrs)

    @property
    def server(self) -> SwarmServer:
        if self._server is None:
            raise NotStartedError("SwarmClient.start() was not called")
        return self._server

    async def get_nodes(self, model: str | None = None) -> list[NodeRecord]:
        """Live, validated records of every node, or of those serving ``model``."""
        router = self.server.swarm_protocol.router
        if not router.find_neighbors(self.server.node) and not await self._join():
            raise SwarmUnreachableError(f"no bootstrap peer of {self._peers} answered")
        key = model_key(model) if model else ALL_NODES_KEY
        return (await self.server.lookup(key)).records

    async def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
