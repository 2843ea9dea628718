"""Exceptions of the models package."""

from llamanet_common.errors import LlamaNetError


class ModelError(LlamaNetError):
    """Base class for model errors."""


class ModelNotFoundError(ModelError):
    """No such model in the catalog, the cache or on disk."""


class InvalidGGUFError(ModelError):
    """A file that is not a complete, well-formed GGUF model."""


class DownloadError(ModelError):
    """A download failed (network, HTTP status, pip)."""


class ChecksumMismatchError(DownloadError):
    """The downloaded bytes do not have the expected sha256."""


class ChecksumRequiredError(DownloadError):
    """A URL pull without an expected sha256 (and without ``--insecure-no-checksum``)."""
