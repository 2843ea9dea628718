"""Exceptions of the operator; ``handlers`` maps them to kopf's permanent and temporary errors."""

from llamanet_common.errors import LlamaNetError


class OperatorError(LlamaNetError):
    """Base class of the operator's errors."""

    reason = "OperatorError"


class SpecError(OperatorError):
    """The LlamaNode's spec is invalid: nothing helps until the spec changes (permanent)."""

    reason = "InvalidSpec"


class DependencyError(OperatorError):
    """Something the spec refers to is missing (a Secret, a PVC): retried, it may appear."""

    reason = "MissingDependency"


class CapacityError(OperatorError):
    """The cluster cannot run the spec (e.g. no node offers that many GPUs): retried slowly."""

    reason = "InsufficientCapacity"


class KubeError(OperatorError):
    """The API server refused or failed a request: retried."""

    reason = "ApiError"


class AuthorityError(OperatorError):
    """The operator's swarm authority cannot certify pods: its key or chain cannot be read, the chain
    has expired or does not delegate to the key, or a LlamaNode asks for a scope beyond it: retried."""

    reason = "AuthorityUnavailable"
