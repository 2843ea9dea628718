import pytest

from llamanet_common.status import BadStatusError, NodeStatus, parse_status, slot_load

GOOD = {
    "node_id": "abc", "model": "m", "status": "ready", "queue_depth": 1, "active_requests": 2,
    "slots_total": 4, "slots_free": 2, "tokens_per_second": 9, "uptime": 5.0, "version": "0.1",
}  # fmt: skip


def test_a_good_answer_parses_and_load_is_derived_not_read() -> None:
    status = parse_status({**GOOD, "load": 1000.0, "unknown_field": [1]})
    assert (status.slots_total, status.slots_free, status.tokens_per_second) == (4, 2, 9.0)
    assert status.ready and status.load == 3 / 4 and status.prefixes == []
    assert parse_status({**GOOD, "prefixes": ["0123456789abcdef"]}).prefixes == ["0123456789abcdef"]


@pytest.mark.parametrize(
    "bad",
    [
        {**GOOD, "slots_total": 0, "slots_free": 0},  # ready with no slot: would divide by zero
        {**GOOD, "slots_total": "4"},  # strings are not counts
        {**GOOD, "slots_total": True},
        {**GOOD, "slots_total": 4.0},
        {**GOOD, "slots_free": 5},  # more free than total
        {**GOOD, "queue_depth": -1},
        {**GOOD, "slots_total": 10**6},
        {**GOOD, "status": "on fire"},
        {**GOOD, "node_id": "x" * 10_000},
        {**GOOD, "prefixes": ["0123456789abcdef"] * 513},  # more chats than an answer carries
        {**GOOD, "prefixes": ["not a key"]},
        {**GOOD, "prefixes": "0123456789abcdef"},
        {**GOOD, "prefixes": [16]},
        [GOOD],
        "ready",
        None,
    ],
)
def test_bad_answers_raise_bad_status(bad: object) -> None:
    with pytest.raises(BadStatusError):
        parse_status(bad)


def test_a_loading_node_may_have_no_slots_yet() -> None:
    assert not parse_status({"status": "loading", "slots_total": 0}).ready


def test_the_one_definition_of_load() -> None:
    assert slot_load(0, 0, 4) == 0.0
    assert slot_load(3, 1, 4) == 1.0
    assert slot_load(4, 4, 4) == 2.0  # queueing
    assert slot_load(0, 0, 0) == 0.0  # unknown size counts as one slot
    assert NodeStatus(slots_total=8, active_requests=2, queue_depth=2).model_dump()["load"] == 0.5
