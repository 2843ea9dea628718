"""Root of LlamaNet's exception tree (node, client and operator alike), and the errors of the shared formats.

Each package derives its own small tree from ``LlamaNetError``.
"""


class LlamaNetError(Exception):
    """Base class of every error LlamaNet raises on purpose."""


class FormatError(LlamaNetError, ValueError):
    """Input in one of the shared formats (addresses, keys, records) that cannot be used."""


class IdentityError(FormatError):
    """A node key file that cannot be read, written or parsed."""


class PeerAddressError(FormatError):
    """A ``host:port`` peer address that cannot be parsed."""
