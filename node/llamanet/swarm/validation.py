"""Pure record validation, applied by storing peers and again by readers (with the reader's clock, so a
record whose certificate expired is invisible from then on, even while the record itself is live)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from llamanet.swarm.errors import (
    ExpiredRecordError,
    InvalidRecordError,
    RecordFormatError,
    UncertifiedRecordError,
)
from llamanet_common.certs import Scope, check_claims, verify_chain
from llamanet_common.errors import CertError
from llamanet_common.identity import node_id_for_public_key, verify_signature
from llamanet_common.record import RECORD_FORMAT, NodeRecord


@dataclass(frozen=True)
class RecordLimits:
    """Bounds every record must respect. With ``authorities`` (trusted swarm authority keys, hex), a
    record must also carry a certificate chain from one of them whose scope covers its models and site."""

    max_record_bytes: int = 2048
    max_ttl_s: float = 60.0
    clock_skew_s: float = 5.0
    max_models: int = 32
    max_urls: int = 8
    max_item_chars: int = 256
    authorities: frozenset[str] = frozenset()


def parse_record(raw: str | bytes, *, now: float, limits: RecordLimits) -> NodeRecord:
    """Parse and fully check a record's JSON; raise ``InvalidRecordError`` (or a subclass) if it is bad."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > limits.max_record_bytes:
        raise InvalidRecordError(f"record is {size} bytes, limit {limits.max_record_bytes}")
    try:
        record = NodeRecord.model_validate_json(raw)
    except ValidationError as exc:
        other = foreign_format(raw)
        if other is not None:
            raise RecordFormatError(other) from exc
        raise InvalidRecordError(f"malformed record: {exc.error_count()} schema errors") from exc
    check_record(record, now=now, limits=limits)
    return record


def foreign_format(raw: str | bytes) -> str | None:
    """Why a record that failed validation is of another format than ours, naming its node (or None)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format", 1) == RECORD_FORMAT:
        return None
    node, theirs = str(data.get("node_id", "?"))[:40], str(data.get("format", 1))[:8]
    return f"record format {theirs} from node {node}; this node reads format {RECORD_FORMAT}"


def check_record(record: NodeRecord, *, now: float, limits: RecordLimits) -> None:
    """Check bounds, expiry, node id and signature of an already parsed record."""
    if len(record.models) > limits.max_models:
        raise InvalidRecordError(f"{len(record.models)} models, limit {limits.max_models}")
    if len(record.urls) > limits.max_urls:
        raise InvalidRecordError(f"{len(record.urls)} urls, limit {limits.max_urls}")
    if any(len(item) > limits.max_item_chars or not item for item in (*record.models, *record.urls)):
        raise InvalidRecordError("empty or over-long model name or url")
    if record.expires_at <= now:
        raise ExpiredRecordError(f"record of {record.node_id} expired")
    if record.expires_at > now + limits.max_ttl_s + limits.clock_skew_s:
        raise InvalidRecordError(f"expiry {record.expires_at - now:.0f}s ahead exceeds max TTL")
    if node_id_for_public_key(bytes.fromhex(record.public_key)) != record.node_id:
        raise InvalidRecordError("node id does not match the public key")
    if not verify_signature(record.public_key, record.canonical_bytes(), record.signature):
        raise InvalidRecordError(f"bad signature on record of {record.node_id}")
    if limits.authorities:
        check_membership(record, limits.authorities, now=now, clock_skew_s=limits.clock_skew_s)


def check_membership(
    record: NodeRecord, authorities: frozenset[str], *, now: float, clock_skew_s: float
) -> Scope:
    """The scope of ``record``'s certificate chain from one of ``authorities``, covering its models and
    site; ``UncertifiedRecordError`` (naming the ``CertError``) otherwise."""
    if not record.cert:
        raise UncertifiedRecordError(f"record of {record.node_id} carries no membership certificate")
    try:
        scope = verify_chain(record.cert, record.public_key, authorities, now, clock_skew_s)
        check_claims(scope, record.models, record.site)
    except CertError as exc:
        raise UncertifiedRecordError(f"record of {record.node_id}: {exc}") from exc
    return scope


def certified_until(record: NodeRecord) -> float:
    """When the first certificate of an already verified ``record``'s chain expires (inf: no chain)."""
    times = [c.get("not_after") for c in record.cert or ()]
    return min((float(t) for t in times if isinstance(t, int)), default=float("inf"))
