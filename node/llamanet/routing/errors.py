"""Exceptions of the routing package."""

from llamanet.errors import LlamaNetError


class RoutingError(LlamaNetError):
    """Base class for routing errors."""


class NoPeerAvailableError(RoutingError):
    """Every candidate node failed or was banned."""
