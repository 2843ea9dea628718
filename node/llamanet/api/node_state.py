"""What the routes share: the engine (once loaded), the node's identity and its metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from llamanet.api.errors import ApiError
from llamanet.api.metrics import NodeMetrics
from llamanet.engine.engine import Engine
from llamanet.engine.stats import EngineStats
from llamanet.settings import Settings
from llamanet.version import __version__

# Names that mean "whatever this node serves" (the seed's examples use "llamanet").
GENERIC_MODEL_NAMES = frozenset({"", "llamanet", "default"})


@dataclass
class NodeState:
    settings: Settings
    node_id: str
    model_name: str
    engine: Engine | None = None
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
            return EngineStats(self.settings.n_parallel, 0, 0, 0.0, 0, 0)
        return self.engine.stats()

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
        if requested is not None and requested not in GENERIC_MODEL_NAMES and requested != self.model_name:
            raise ApiError(
                404,
                f"model {requested!r} not found; available: {self.model_name}",
                param="model",
                code="model_not_found",
            )
        return self.ready_engine()
