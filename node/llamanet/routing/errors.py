"""Exceptions of the routing package."""

from llamanet_common.errors import LlamaNetError


class RoutingError(LlamaNetError):
    """Base class for routing errors."""


class NoPeerAvailableError(RoutingError):
    """Every candidate node failed or was banned."""
