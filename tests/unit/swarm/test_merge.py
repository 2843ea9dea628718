from llamanet.swarm.merge import merge_records, supersedes, visible_records
from llamanet_common.identity import NodeIdentity

from .conftest import NOW, make_record


def test_supersedes_needs_strictly_higher_seq(identity: NodeIdentity) -> None:
    old, new = make_record(identity, seq=1), make_record(identity, seq=2)
    assert supersedes(old, None)
    assert supersedes(new, old)
    assert not supersedes(old, new)
    assert not supersedes(new, new)


def test_merge_is_a_union_keeping_highest_seq() -> None:
    a, b, c = NodeIdentity.generate(), NodeIdentity.generate(), NodeIdentity.generate()
    peer1 = [make_record(a, seq=5), make_record(b, seq=1)]
    peer2 = [make_record(a, seq=3), make_record(c, seq=7)]
    peer3 = [make_record(b, seq=2)]
    merged = merge_records([*peer1, *peer2, *peer3])
    assert {node_id: r.seq for node_id, r in merged.items()} == {a.node_id: 5, b.node_id: 2, c.node_id: 7}
    assert merge_records([*peer3, *peer2, *peer1]) == merged


def test_tombstone_with_higher_seq_hides_live_entry(identity: NodeIdentity) -> None:
    live = make_record(identity, seq=4)
    tombstone = make_record(identity, seq=5, withdrawn=True)
    assert visible_records(merge_records([live, tombstone]), NOW) == []
    assert visible_records(merge_records([live]), NOW) == [live]


def test_expired_entries_are_not_visible(identity: NodeIdentity) -> None:
    record = make_record(identity, ttl=5)
    merged = merge_records([record])
    assert visible_records(merged, NOW + 4) == [record]
    assert visible_records(merged, NOW + 6) == []
