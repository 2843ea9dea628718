"""Exceptions of the routing package."""

from llamanet_common.errors import LlamaNetError


class RoutingError(LlamaNetError):
    """Base class for routing errors."""


class NoPeerAvailableError(RoutingError):
    """Every candidate node failed or was banned."""


class ProbeFailedError(RoutingError):
    """A node's ``/status`` could not be fetched (its reason is the message)."""


class UnknownModelError(RoutingError):
    """No node in the swarm serves the model."""

    def __init__(self, model: str, available: list[str]) -> None:
        super().__init__(f"model {model!r} not found; available: {', '.join(available) or 'none'}")
        self.model = model


class NoNodeForModelError(RoutingError):
    """Nodes serve the model, but none of them answered."""


class HopLimitError(RoutingError):
    """The request was forwarded too many times."""


class EmbeddingsUnavailableError(RoutingError):
    """Nodes serve the model, but none of them was started with ``--embeddings``."""

    def __init__(self, model: str, local: bool) -> None:
        here = "this node was started without --embeddings, and " if local else ""
        super().__init__(f"{here}no node serving {model!r} in the swarm serves embeddings (--embeddings)")
        self.model = model


class StreamBrokeError(RoutingError):
    """A forwarded stream broke after its first bytes (the node died, or broke a cap): the message
    names the node. ``resume`` continues the stream elsewhere, or it ends with ``failure_line``."""
