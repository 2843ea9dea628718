"""The pure helpers of bench/dht_hostile.py, and that its "defences off" switch really switches them off."""

from __future__ import annotations

import random

import pytest
from bench.dht_attackers import near_ids
from bench.dht_defences_off import eviction_candidate, switch_off
from bench.dht_hostile_report import honest_host, pct, split_hostile
from kademlia.node import Node

from llamanet.swarm.errors import StorageFullError
from llamanet.swarm.keys import model_key
from llamanet.swarm.protocol import SwarmProtocol
from llamanet.swarm.storage import EntryStore, StorageCaps
from llamanet.swarm.validation import RecordLimits
from llamanet_common.identity import NodeIdentity

from .swarm.conftest import NOW, make_record


def test_near_ids_are_closer_to_the_key_than_any_other_id() -> None:
    key = bytes(range(20))
    ids = near_ids(key, 20, random.Random(1))
    assert len(ids) == 20 and all(len(i) == 20 and i[:16] == key[:16] for i in ids)
    assert max(Node(i).distance_to(Node(key)) for i in ids) < 2**32


def test_eviction_candidate_is_the_soonest_to_expire_if_the_newcomer_outlives_it() -> None:
    assert eviction_candidate({"a": 10.0, "b": 5.0}, 20.0) == "b"
    assert eviction_candidate({"a": 10.0, "b": 5.0}, 4.0) is None
    assert eviction_candidate({}, 4.0) is None


def test_split_and_addresses() -> None:
    assert split_hostile(500, 0.2) == {"sybil": 34, "bogus": 33, "replay": 33}
    assert sum(split_hostile(40, 0.2).values()) == 8
    assert [honest_host(i) for i in (0, 7, 8, 2000)] == ["127.0.1.1", "127.0.1.1", "127.0.1.2", "127.0.2.1"]
    assert pct([3.0, 1.0, 2.0], 50) == 2.0 and pct([1.0, 2.0], 95) == 2.0


def stores() -> tuple[EntryStore, EntryStore]:
    made = [EntryStore(RecordLimits(max_ttl_s=120), StorageCaps(max_entries_per_key=2), clock=lambda: NOW)]
    made.append(
        EntryStore(RecordLimits(max_ttl_s=120), StorageCaps(max_entries_per_key=2), clock=lambda: NOW)
    )
    return made[0], made[1]


def protocol(store: EntryStore) -> SwarmProtocol:
    own = Node(b"\x01" * 20)
    return SwarmProtocol(
        own, store, 20, secret=None, client_mode=False, rpc_timeout_s=1, page_budget_bytes=5500
    )


def test_switched_off_a_full_key_evicts_for_a_longer_lived_newcomer() -> None:
    on, off = stores()
    switch_off(protocol(off), off)
    key = model_key("tiny")
    for store in (on, off):
        for _ in range(2):
            store.put(key, make_record(NodeIdentity.generate(), ttl=30).to_json(), source="10.0.0.9")
    sybil = make_record(NodeIdentity.generate(), ttl=100).to_json()
    with pytest.raises(StorageFullError):
        on.put(key, sybil, source="10.0.0.66")
    off.put(key, sybil, source="10.0.0.66")
    assert [e.record.expires_at for e in off.entries(next(iter(off._entries)))].count(NOW + 100) == 1


def test_switched_off_one_endpoint_files_many_ids_replays_pass_and_replies_are_unbounded() -> None:
    on_store, off_store = stores()
    on, off = protocol(on_store), protocol(off_store)
    switch_off(off, off_store)
    for proto in (on, off):
        for n in range(5):
            proto.admission.file(Node(bytes([n + 2]) * 20, "127.0.30.1", 4000))
    assert sum(len(b) for b in on.router.buckets) == 1
    assert sum(len(b) for b in off.router.buckets) == 5
    assert off._fresh(None, ("127.0.0.1", 1))  # type: ignore[arg-type]
    assert ("203.0.113.1", 9) in off.proven and ("203.0.113.1", 9) not in on.proven
