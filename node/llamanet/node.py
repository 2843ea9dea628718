"""``Node``: the composition root of one node: settings, identity, the engine (once loaded), the DHT peer,
the request router and the metrics, with the few questions the API and membership ask of them.

``server`` builds it; the API routes and ``membership`` read it. It knows no web framework.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from llamanet.engine.engine import Engine
from llamanet.engine.stats import EngineStats
from llamanet.metrics import NodeMetrics
from llamanet.routing.members import CertifiedPeers
from llamanet.routing.router import RequestRouter
from llamanet.settings import Settings
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import ForwardProof
from llamanet_common.record import NodeRecord
from llamanet_common.status import NodeStatus
from llamanet_common.version import __version__


@dataclass
class Node:
    settings: Settings
    node_id: str
    model_name: str
    engine: Engine | None = None
    swarm: SwarmNode | None = None
    router: RequestRouter | None = None
    members: CertifiedPeers | None = None  # with a swarm authority: whose forwarded work is taken
    identity: NodeIdentity | None = None
    load_error: str | None = None
    started_at: float = field(default_factory=time.time)
    version: str = __version__
    metrics: NodeMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = NodeMetrics(self.stats)

    @property
    def uptime(self) -> float:
        return time.time() - self.started_at

    def stats(self) -> EngineStats:
        if self.engine is None:
            return EngineStats(self.settings.n_parallel or 1, 0, 0, 0.0, 0, 0)
        return self.engine.stats()

    def status(self) -> NodeStatus:
        """What ``GET /status`` answers."""
        s = self.stats()
        return NodeStatus(
            node_id=self.node_id,
            model=self.model_name,
            status="ready" if self.engine is not None else "loading",
            queue_depth=s.queue_depth,
            active_requests=s.slots_busy,
            slots_total=s.slots_total,
            slots_free=s.slots_free,
            tokens_per_second=s.tokens_per_second,
            tokens_generated=s.tokens_generated,
            requests_completed=s.requests_completed,
            uptime=self.uptime,
            version=self.version,
            prefixes=self.router.holdings.keys() if self.router is not None else [],
        )

    def local_slots_free(self) -> int | None:
        """Free slots of the local engine; None while the model is loading."""
        return None if self.engine is None else self.engine.stats().slots_free

    async def models(self) -> dict[str, list[str]]:
        """Models served in the swarm (just this node's without a swarm) and the nodes serving them."""
        if self.router is None:
            return {self.model_name: [self.node_id]}
        return await self.router.models()

    async def admit_peer(self, proof: ForwardProof) -> str | None:
        """Why the sender of a verified forward proof is refused (None: admitted); every sender is
        refused until the swarm is joined (``members`` is set with the router)."""
        if self.members is None:
            return "this node has not joined the swarm yet"
        return await self.members.admit(proof)

    async def swarm_records(self) -> list[NodeRecord] | None:
        """Every live record in the swarm, this node's included; None without a DHT peer."""
        if self.router is None:
            return None
        records = {r.node_id: r for r in await self.router.directory.records(None)}
        own = self.swarm.last_record if self.swarm is not None else None
        if own is not None and own.is_live(time.time()):
            records.setdefault(own.node_id, own)  # the DHT may not have handed back our own entry
        return list(records.values())
