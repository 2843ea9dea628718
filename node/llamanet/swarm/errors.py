"""Exceptions of the swarm (DHT) package."""

from llamanet_common.errors import LlamaNetError


class SwarmError(LlamaNetError):
    """Base class for swarm errors."""


class InvalidRecordError(SwarmError):
    """A DHT record that is malformed, forged, oversized or out of bounds."""


class StaleRecordError(InvalidRecordError):
    """A record whose sequence number is not newer than the one already held."""


class RecordFormatError(InvalidRecordError):
    """A record of another format (``format`` field) than this node reads: its node needs the same release."""


class ExpiredRecordError(InvalidRecordError):
    """A record whose expiry is already past."""


class UncertifiedRecordError(InvalidRecordError):
    """A record without a valid membership certificate from a trusted swarm authority (or one that
    claims a model or site outside its certificate), refused when an authority is configured."""


class KeyMismatchError(InvalidRecordError):
    """A record offered under a DHT key it does not belong to."""


class ContactProofError(SwarmError):
    """A contact's answer to our challenge that does not prove its id (key, signature, signed contact) or,
    with a swarm authority, its membership: the contact is not filed."""


class StorageFullError(SwarmError):
    """A storing peer refused an entry because its per-key or total cap is reached."""


class SwarmUnreachableError(SwarmError):
    """No bootstrap peer answered (raised by the read-only client, which has nobody else to ask)."""


class NotStartedError(SwarmError):
    """A swarm operation called before ``start()`` or after ``stop()``."""
