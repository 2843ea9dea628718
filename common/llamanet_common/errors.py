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


class CertError(FormatError):
    """A membership certificate chain that does not admit a node (``certs.verify_chain``); ``str()`` says
    why and is safe to log or show."""


class MalformedCertError(CertError):
    """A certificate or chain that is not in the format (fields, types, sizes, JSON)."""


class UntrustedCertError(CertError):
    """A chain that does not lead to a trusted root: unknown issuer, bad signature, broken link, a
    certificate for another key, or a chain longer than allowed."""


class CertTimeError(CertError):
    """A certificate used outside its validity period."""


class CertExpiredError(CertTimeError):
    """A certificate past its ``not_after``."""


class CertNotYetValidError(CertTimeError):
    """A certificate before its ``not_before``."""


class CertScopeError(CertError):
    """A delegation that widens its issuer's scope, or a claim (model, site) outside the scope."""
