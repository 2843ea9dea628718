import json

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.keys import ALL_NODES_KEY, model_key
from llamanet.swarm.lookup import records_from_entries
from llamanet.swarm.validation import RecordLimits
from llamanet_common.identity import NodeIdentity

from .conftest import NOW, make_record

LIMITS = RecordLimits(max_ttl_s=60)


def test_union_over_peers_keeps_highest_valid_seq() -> None:
    a, b = NodeIdentity.generate(), NodeIdentity.generate()
    old_a, new_a, only_b = make_record(a, seq=1), make_record(a, seq=2), make_record(b, seq=9)
    peer1, peer2 = [old_a.to_json(), only_b.to_json()], [new_a.to_json()]
    records = records_from_entries(ALL_NODES_KEY, peer1 + peer2, now=NOW, limits=LIMITS)
    assert {(r.node_id, r.seq) for r in records} == {(a.node_id, 2), (b.node_id, 9)}


def test_forged_copy_with_higher_seq_does_not_win(identity: NodeIdentity) -> None:
    genuine = make_record(identity, seq=3)
    forged = json.loads(genuine.to_json())
    forged.update(seq=99, slots_free=1000)
    records = records_from_entries(
        ALL_NODES_KEY, [json.dumps(forged), genuine.to_json()], now=NOW, limits=LIMITS
    )
    assert records == [genuine]


def test_entries_under_the_wrong_key_and_tombstones_are_hidden(identity: NodeIdentity) -> None:
    live = make_record(identity, seq=1, models=("tiny",))
    assert records_from_entries(model_key("other"), [live.to_json()], now=NOW, limits=LIMITS) == []
    tombstone = make_record(identity, seq=2, withdrawn=True)
    raws = [live.to_json(), tombstone.to_json()]
    assert records_from_entries(model_key("tiny"), raws, now=NOW, limits=LIMITS) == []


def test_record_ttl_is_three_intervals_capped_by_max_ttl() -> None:
    assert SwarmConfig().record_ttl_s == 30.0
    assert SwarmConfig(heartbeat_interval_s=0.5).record_ttl_s == 1.5
    assert SwarmConfig(heartbeat_interval_s=100, limits=RecordLimits(max_ttl_s=60)).record_ttl_s == 60
