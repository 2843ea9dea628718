"""Exceptions of the client package."""

from __future__ import annotations

from llamanet_common.errors import LlamaNetError


class ClientError(LlamaNetError):
    """Base class for client errors."""


class DiscoveryError(ClientError):
    """The swarm could not be queried: no bootstrap peer answered, or the peer list is invalid."""


class NodeUnavailableError(ClientError):
    """One node failed in a way another node may not: connection error, timeout, 5xx, 429, 503,
    or it does not serve the requested model. The client bans it for a while and tries the next."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.status = url, reason, status


class RequestRejectedError(ClientError):
    """A node refused the request itself (400, 401, 403, ...): retrying elsewhere would not help."""

    def __init__(self, url: str, status: int, message: str, code: str | None = None) -> None:
        super().__init__(f"{url} rejected the request ({status}): {message}")
        self.url, self.status, self.message, self.code = url, status, message, code


class NoNodeAvailableError(ClientError):
    """No node could serve the request: none was found, or every candidate failed.

    ``failures`` lists ``(url, reason)`` for each node tried, in order.
    """

    def __init__(self, message: str, failures: list[tuple[str, str]] | None = None) -> None:
        self.failures = failures or []
        tried = "; ".join(f"{url}: {reason}" for url, reason in self.failures)
        super().__init__(f"{message} (tried {tried})" if tried else message)


class StreamInterruptedError(ClientError):
    """A node failed after it had already streamed text; the partial output cannot be replayed."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"stream from {url} broke off after the first token: {reason}")
        self.url, self.reason = url, reason
