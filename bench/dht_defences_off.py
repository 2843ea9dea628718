"""The DHT defences of issue #14 switched off, per node, for the "before" swarm of ``bench/dht_hostile.py``.

Bench-only: nothing here is importable by the node. ``switch_off`` patches one node's protocol and entry
store so they behave as the swarm package did before the #14 commits, leaving everything older as is
(frame v2 with the sender's contact and its ping verification, record signatures and key checks):

- 29802df replay window: ``SwarmProtocol._fresh`` always says "fresh" (frames still carry the timestamp
  and nonce; nobody checks them);
- 29802df one contact per UDP endpoint and ``max_contacts_per_ip``, and the later proof of a contact's
  id by its key: ``Admission.offer`` and ``Admission.file`` are the router's plain ``add_contact``
  again (every id answering anywhere is filed, unproved; the pre-#14 ping of a contact advertising
  another address than its packet's source is then skipped too);
- dd95273 amplification bound: every source counts as having proved its address, so no reply is held
  to 3x its request;
- b6d72fa "a full key takes no newcomer" and ``max_entries_per_source``: ``EntryStore.put`` is the
  earlier put, which evicts the soonest-expiring entry of a full key for a newcomer that expires later
  (``eviction_candidate``, copied from the earlier ``merge.py``) and counts no sources.
"""

from __future__ import annotations

import types
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kademlia.utils import digest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.errors import StaleRecordError, StorageFullError
from llamanet.swarm.keys import check_key_fits
from llamanet.swarm.merge import supersedes
from llamanet.swarm.protocol import SwarmProtocol
from llamanet.swarm.server import SwarmServer
from llamanet.swarm.storage import EntryStore, StoredEntry
from llamanet.swarm.validation import parse_record
from llamanet_common.record import NodeRecord


class AllProven(OrderedDict[tuple[str, int], None]):
    """A ``SwarmProtocol.proven`` in which every address has proved itself: replies are never held."""

    def __contains__(self, item: object) -> bool:
        return True


def eviction_candidate(expiries: Mapping[str, float], new_expiry: float) -> str | None:
    """When a key is full: the soonest-expiring entry, if it expires before the newcomer would
    (the pre-b6d72fa rule)."""
    if not expiries:
        return None
    victim = min(expiries, key=lambda node_id: (expiries[node_id], node_id))
    return victim if expiries[victim] < new_expiry else None


def evicting_put(self: EntryStore, key: str, raw: str, source: str = "") -> NodeRecord:
    """``EntryStore.put`` as it was before b6d72fa (no per-source cap; a full key evicts)."""
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
    if held is None and len(entries) >= self.caps.max_entries_per_key:
        victim = eviction_candidate({n: e.expires_at for n, e in entries.items()}, expires_at)
        if victim is None:
            raise StorageFullError(f"key {key!r} is full")
        del entries[victim]
    entries[record.node_id] = StoredEntry(record, raw, expires_at, source)
    return record


def switch_off(protocol: SwarmProtocol, store: EntryStore) -> None:
    """Turn this node's #14 defences off (see the module docstring for exactly which)."""
    fresh: Any = lambda frame, addr: True  # noqa: E731
    protocol._fresh = fresh
    add: Any = protocol.router.add_contact
    protocol.admission.file = add  # type: ignore[method-assign]
    protocol.admission.offer = lambda node, sends=None: add(node)  # type: ignore[method-assign]
    protocol.proven = AllProven()
    store.put = types.MethodType(evicting_put, store)  # type: ignore[method-assign]


@dataclass(frozen=True)
class BenchConfig(SwarmConfig):
    """A ``SwarmConfig`` that says whether its nodes keep the #14 defences (``install_switch``)."""

    defences: bool = True


def install_switch() -> None:
    """Make every ``SwarmServer`` whose config is a ``BenchConfig(defences=False)`` switch its new
    protocol's and store's defences off as the protocol is created (before the node joins)."""
    if getattr(SwarmServer._create_protocol, "bench_switch", False):
        return
    original = SwarmServer._create_protocol

    def create(self: SwarmServer) -> SwarmProtocol:
        protocol = original(self)
        if not getattr(self.config, "defences", True):
            switch_off(protocol, self.entries)
        return protocol

    create.bench_switch = True  # type: ignore[attr-defined]
    SwarmServer._create_protocol = create  # type: ignore[method-assign]
