import pytest

from llamanet.swarm.errors import KeyMismatchError, StaleRecordError, StorageFullError
from llamanet.swarm.keys import ALL_NODES_KEY, model_key, node_key
from llamanet.swarm.storage import EntryStore, StorageCaps
from llamanet.swarm.validation import RecordLimits
from llamanet_common.identity import NodeIdentity

from .conftest import NOW, make_record


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def store(caps: StorageCaps | None = None) -> tuple[EntryStore, Clock]:
    clock = Clock()
    return EntryStore(RecordLimits(max_ttl_s=60), caps, clock=clock), clock


def test_nodes_never_overwrite_each_other() -> None:
    entries, _ = store()
    a, b = NodeIdentity.generate(), NodeIdentity.generate()
    entries.put(model_key("tiny"), make_record(a).to_json())
    entries.put(model_key("tiny"), make_record(b).to_json())
    assert entries.snapshot()[model_key("tiny")][0]["node_id"] == min(a.node_id, b.node_id)
    assert len(entries.snapshot()[model_key("tiny")]) == 2


def test_older_or_equal_seq_is_rejected_but_identical_republish_is_fine(identity: NodeIdentity) -> None:
    entries, _ = store()
    newer = make_record(identity, seq=5)
    entries.put(ALL_NODES_KEY, newer.to_json())
    entries.put(ALL_NODES_KEY, newer.to_json())
    with pytest.raises(StaleRecordError):
        entries.put(ALL_NODES_KEY, make_record(identity, seq=4).to_json())
    with pytest.raises(StaleRecordError):
        entries.put(ALL_NODES_KEY, make_record(identity, seq=5, ttl=20).to_json())
    entries.put(ALL_NODES_KEY, make_record(identity, seq=6, withdrawn=True).to_json())
    assert entries.snapshot()[ALL_NODES_KEY][0]["withdrawn"] is True


def test_wrong_key_is_rejected(identity: NodeIdentity) -> None:
    entries, _ = store()
    with pytest.raises(KeyMismatchError):
        entries.put(node_key(NodeIdentity.generate().node_id), make_record(identity).to_json())


def test_entries_expire(identity: NodeIdentity) -> None:
    entries, clock = store()
    entries.put(ALL_NODES_KEY, make_record(identity, ttl=3).to_json())
    assert len(entries) == 1
    clock.now += 3.5
    assert len(entries.entries(b"x" * 20)) == 0
    assert entries.snapshot() == {}
    assert len(entries) == 0


def test_snapshot_survives_an_entry_expiring_under_it() -> None:
    # issue 16: GET /dht/status answered 500 (KeyError) whenever one key's last entry had expired
    entries, clock = store()
    short, long = NodeIdentity.generate(), NodeIdentity.generate()
    entries.put(model_key("aaa"), make_record(short, ttl=3, models=("aaa",)).to_json())
    entries.put(model_key("zzz"), make_record(long, ttl=30, models=("zzz",)).to_json())
    clock.now += 3.5
    snap = entries.snapshot()
    assert list(snap) == [model_key("zzz")]
    assert snap[model_key("zzz")][0]["node_id"] == long.node_id


def test_a_full_key_takes_no_newcomer_and_never_evicts_a_live_entry() -> None:
    # issue 14: evicting the soonest-expiring entry for a newcomer let 256 fresh keys (60 s TTL) push
    # every honest entry (30 s TTL) out of model:X
    entries, clock = store(StorageCaps(max_entries_per_key=2))
    ids = [NodeIdentity.generate() for _ in range(3)]
    entries.put(ALL_NODES_KEY, make_record(ids[0], ttl=10).to_json())
    entries.put(ALL_NODES_KEY, make_record(ids[1], ttl=20).to_json())
    with pytest.raises(StorageFullError):
        entries.put(ALL_NODES_KEY, make_record(ids[2], ttl=60).to_json())
    held = {e["node_id"] for e in entries.snapshot()[ALL_NODES_KEY]}
    assert held == {ids[0].node_id, ids[1].node_id}
    entries.put(ALL_NODES_KEY, make_record(ids[0], ttl=10, seq=2).to_json())  # a held node renews
    clock.now += 10.5  # once an entry has expired, a newcomer gets its place
    entries.put(ALL_NODES_KEY, make_record(ids[2], ttl=30).to_json())
    assert ids[2].node_id in {e["node_id"] for e in entries.snapshot()[ALL_NODES_KEY]}


def test_one_source_holds_a_bounded_share_of_a_key() -> None:
    entries, _ = store(StorageCaps(max_entries_per_source=2))
    for _ in range(2):
        entries.put(ALL_NODES_KEY, make_record(NodeIdentity.generate()).to_json(), source="10.0.0.9")
    with pytest.raises(StorageFullError, match=r"10\.0\.0\.9"):
        entries.put(ALL_NODES_KEY, make_record(NodeIdentity.generate()).to_json(), source="10.0.0.9")
    entries.put(ALL_NODES_KEY, make_record(NodeIdentity.generate()).to_json(), source="10.0.0.8")
    entries.put(ALL_NODES_KEY, make_record(NodeIdentity.generate()).to_json())  # our own: never capped
    assert len(entries.snapshot()[ALL_NODES_KEY]) == 4


def test_key_cap() -> None:
    entries, _ = store(StorageCaps(max_keys=1))
    a = NodeIdentity.generate()
    entries.put(ALL_NODES_KEY, make_record(a).to_json())
    with pytest.raises(StorageFullError):
        entries.put(node_key(a.node_id), make_record(a).to_json())


def test_pages_cover_every_entry_once() -> None:
    from kademlia.utils import digest

    entries, _ = store()
    records = [make_record(NodeIdentity.generate()) for _ in range(7)]
    for record in records:
        entries.put(ALL_NODES_KEY, record.to_json())
    budget = 2 * len(records[0].to_json()) + 20
    seen: list[str] = []
    cursor: str | None = ""
    pages = 0
    while cursor is not None:
        page, cursor = entries.page(digest(ALL_NODES_KEY), cursor, budget)
        assert 1 <= len(page) <= 2
        seen.extend(page)
        pages += 1
    assert sorted(seen) == sorted(r.to_json() for r in records)
    assert pages == 4
