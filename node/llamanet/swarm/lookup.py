"""Pure reader-side decision: raw entries gathered from many peers -> validated, merged, visible records."""

from __future__ import annotations

from collections.abc import Iterable

from llamanet.swarm.errors import InvalidRecordError
from llamanet.swarm.keys import check_key_fits
from llamanet.swarm.merge import merge_records, visible_records
from llamanet.swarm.validation import RecordLimits, parse_record
from llamanet_common.record import NodeRecord


def records_from_entries(
    key: str, raw_entries: Iterable[str], *, now: float, limits: RecordLimits
) -> list[NodeRecord]:
    """Re-validate every copy (readers trust no storing peer), union by node id, hide dead/withdrawn."""
    valid: list[NodeRecord] = []
    for raw in set(raw_entries):
        try:
            record = parse_record(raw, now=now, limits=limits)
            check_key_fits(key, record)
        except InvalidRecordError:
            continue
        valid.append(record)
    return visible_records(merge_records(valid), now)
