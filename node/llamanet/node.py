"""What the routes share: the engine (once loaded), the node's identity and its metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from llamanet.api.errors import ApiError
from llamanet.api.metrics import NodeMetrics
from llamanet.engine.engine import Engine
from llamanet.engine.stats import EngineStats
from llamanet.routing.policy import target_model
from llamanet.routing.router import HopLimitError, NoNodeForModelError, Router, UnknownModelError
from llamanet.settings import Settings
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from llamanet_common.version import __version__


def node_of(request: Request) -> NodeState:
    """The ``NodeState`` a route's app was created with."""
    node: NodeState = request.app.state.node
    return node


@dataclass
class NodeState:
    settings: Settings
    node_id: str
    model_name: str
    engine: Engine | None = None
    swarm: SwarmNode | None = None
    router: Router | None = None
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

    def local_slots_free(self) -> int | None:
        """Free slots of the local engine; None while the model is loading."""
        return None if self.engine is None else self.engine.stats().slots_free

    async def route(self, request: Request, requested: str | None, stream: bool) -> Response | None:
        """Forward the request when another node should serve it; None means serve it here."""
        if self.router is None:
            return None
        try:
            return await self.router.route(request, requested, stream)
        except UnknownModelError as exc:
            raise ApiError(404, str(exc), param="model", code="model_not_found") from exc
        except HopLimitError as exc:
            raise ApiError(508, str(exc), "server_error", code="hop_limit") from exc
        except NoNodeForModelError as exc:
            raise ApiError(
                503, str(exc), "service_unavailable", code="no_node_available", headers={"Retry-After": "2"}
            ) from exc

    async def models(self) -> dict[str, list[str]]:
        """Models served in the swarm (just this node's without a swarm) and the nodes serving them."""
        if self.router is None:
            return {self.model_name: [self.node_id]}
        return await self.router.models()

    def ready_engine(self) -> Engine:
        if self.engine is None:
            raise ApiError(
                503,
                self.load_error or "the model is still loading",
                "service_unavailable",
                code="model_loading",
                headers={"Retry-After": "2"},
            )
        return self.engine

    def engine_for(self, requested: str | None) -> Engine:
        """The engine serving ``requested``; 404 naming the available models when it is unknown."""
        if target_model(requested, self.model_name) != self.model_name:
            raise ApiError(
                404,
                f"model {requested!r} not found; available: {self.model_name}",
                param="model",
                code="model_not_found",
            )
        return self.ready_engine()
