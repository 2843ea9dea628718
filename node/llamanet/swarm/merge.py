"""Pure decisions over entry sets: which of two records wins, union of sets, what is visible."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from llamanet_common.record import NodeRecord


def supersedes(new: NodeRecord, held: NodeRecord | None) -> bool:
    """True if ``new`` replaces ``held`` for the same node: strictly higher sequence number only."""
    return held is None or new.seq > held.seq


def _rank(record: NodeRecord) -> tuple[int, bool, str]:
    # Highest seq wins; on an (abnormal) tie a tombstone wins, then a deterministic signature order.
    return (record.seq, record.withdrawn, record.signature)


def merge_records(records: Iterable[NodeRecord]) -> dict[str, NodeRecord]:
    """Union of entries from several peers by node id, keeping each node's highest sequence number."""
    merged: dict[str, NodeRecord] = {}
    for record in records:
        held = merged.get(record.node_id)
        if held is None or _rank(record) > _rank(held):
            merged[record.node_id] = record
    return merged


def visible_records(merged: Mapping[str, NodeRecord], now: float) -> list[NodeRecord]:
    """The live (unexpired, not withdrawn) records of a merged set, ordered by node id."""
    return [merged[node_id] for node_id in sorted(merged) if merged[node_id].is_live(now)]
