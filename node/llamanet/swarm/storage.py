"""A storing peer's entry-set storage: per (key, node id) entries, validated, capped and expiring.

A full key takes no newcomer: a live entry is never evicted for a new node id (fresh keys are free to
make, so evicting for them let a sybil push every honest entry out), and one source address holds at
most ``max_entries_per_source`` entries of a key (a site behind one NAT address fits; one host with
hundreds of keys does not). A node already held always renews its own entry.

Implements kademlia's ``IStorage`` so it can sit in ``Server``, but opaque stock ``store`` values are
refused: only signed records arrive, through ``SwarmProtocol.rpc_store_entry``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kademlia.storage import IStorage
from kademlia.utils import digest

from llamanet.swarm.errors import StaleRecordError, StorageFullError
from llamanet.swarm.keys import check_key_fits
from llamanet.swarm.merge import supersedes
from llamanet.swarm.validation import RecordLimits, parse_record
from llamanet_common.record import NodeRecord

PAGE_OVERHEAD_BYTES = 8


@dataclass(frozen=True)
class StorageCaps:
    max_entries_per_key: int = 256
    max_keys: int = 4096
    max_entries_per_source: int = 64  # of one key, stored by one source address


@dataclass(frozen=True)
class StoredEntry:
    record: NodeRecord
    raw: str
    expires_at: float
    source: str = ""  # the address that stored it ("": this node itself)


class EntryStore(IStorage):  # type: ignore[misc]
    """Entries keyed by (DHT key digest, node id); nodes never overwrite each other."""

    def __init__(
        self,
        limits: RecordLimits | None = None,
        caps: StorageCaps | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits or RecordLimits()
        self.caps = caps or StorageCaps()
        self._clock = clock
        self._names: dict[bytes, str] = {}
        self._entries: dict[bytes, dict[str, StoredEntry]] = {}

    # -- our interface -------------------------------------------------------------------------
    def put(self, key: str, raw: str, source: str = "") -> NodeRecord:
        """Validate ``raw`` for ``key`` and store it, or raise ``InvalidRecordError``/``StorageFullError``.

        ``source``: the address of the peer that sent it ("" for this node's own records: never capped).
        """
        now = self._clock()
        record = parse_record(raw, now=now, limits=self.limits)
        check_key_fits(key, record)
        self.cull()
        dkey = digest(key)
        entries = self._entries.get(dkey)
        if entries is None:
            if len(self._entries) >= self.caps.max_keys:
                raise StorageFullError("too many keys")
            entries = self._entries[dkey] = {}
            self._names[dkey] = key
        held = entries.get(record.node_id)
        if held is not None and held.raw == raw:
            return record
        if not supersedes(record, held.record if held else None):
            raise StaleRecordError(f"seq {record.seq} of {record.node_id} is not newer than held")
        expires_at = min(record.expires_at, now + self.limits.max_ttl_s)
        if held is None:
            if len(entries) >= self.caps.max_entries_per_key:
                raise StorageFullError(f"key {key!r} is full")
            if (
                source
                and sum(e.source == source for e in entries.values()) >= self.caps.max_entries_per_source
            ):
                raise StorageFullError(
                    f"{source} already stored {self.caps.max_entries_per_source} of {key!r}"
                )
        entries[record.node_id] = StoredEntry(record, raw, expires_at, held.source if held else source)
        return record

    def entries(self, dkey: bytes) -> list[StoredEntry]:
        self.cull()
        held = self._entries.get(dkey, {})
        return [held[node_id] for node_id in sorted(held)]

    def page(self, dkey: bytes, after: str, budget_bytes: int) -> tuple[list[str], str | None]:
        """Raw entries with node id > ``after`` fitting ``budget_bytes``, and the cursor to continue from."""
        out: list[str] = []
        used = 0
        remaining = [e for e in self.entries(dkey) if e.record.node_id > after]
        for index, entry in enumerate(remaining):
            cost = len(entry.raw) + PAGE_OVERHEAD_BYTES
            if out and used + cost > budget_bytes:
                return out, remaining[index - 1].record.node_id
            out.append(entry.raw)
            used += cost
        return out, None

    def cull(self) -> None:
        now = self._clock()
        for dkey in list(self._entries):
            entries = self._entries[dkey]
            for node_id in [n for n, e in entries.items() if e.expires_at <= now]:
                del entries[node_id]
            if not entries:
                del self._entries[dkey]
                del self._names[dkey]

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Key name -> entries (node id, seq, withdrawn, seconds until expiry), for status pages."""
        self.cull()  # once, before the walk: culling inside it would drop keys the walk still names
        now = self._clock()
        return {
            self._names[dkey]: [
                {
                    "node_id": e.record.node_id,
                    "seq": e.record.seq,
                    "withdrawn": e.record.withdrawn,
                    "expires_in": round(e.expires_at - now, 2),
                }
                for _, e in sorted(entries.items())
            ]
            for dkey, entries in sorted(self._entries.items(), key=lambda item: self._names[item[0]])
        }

    def __bool__(self) -> bool:  # an empty store is still a store (kademlia tests ``storage or ...``)
        return True

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    # -- kademlia IStorage: opaque values are not accepted --------------------------------------
    def __setitem__(self, key: bytes, value: Any) -> None:
        return None

    def __getitem__(self, key: bytes) -> Any:
        raise KeyError(key)

    def get(self, key: bytes, default: Any = None) -> Any:
        return default

    def iter_older_than(self, seconds_old: float) -> list[tuple[bytes, Any]]:
        return []

    def __iter__(self) -> Iterator[tuple[bytes, Any]]:
        return iter(())
