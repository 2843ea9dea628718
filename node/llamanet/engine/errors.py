"""Exceptions of the engine package."""

from llamanet_common.errors import LlamaNetError


class EngineError(LlamaNetError):
    """Base class for engine errors."""


class ModelLoadError(EngineError):
    """The model file could not be loaded."""


class InvalidRequestError(EngineError):
    """A request the engine cannot serve as asked (too long for the context, bad grammar...)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class QueueFullError(EngineError):
    """Every slot is busy and the wait queue is full."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EngineClosedError(EngineError):
    """The engine is shutting down and takes no more work."""
