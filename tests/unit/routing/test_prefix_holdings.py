"""``PrefixHoldings``: the chats a node served lately, bounded, least recently used out first."""

from llamanet.routing.prefix_holdings import PrefixHoldings, holdings_capacity
from llamanet_common.status import MAX_PREFIXES


def test_the_whole_chat_is_recorded_most_recent_first_and_the_oldest_leaves_first() -> None:
    h = PrefixHoldings(3)
    for k in ("a", "b", "c"):
        h.served(("early", k))
    assert h.keys() == ["c", "b", "a"] and "early" not in h
    h.served(("a",))  # served again: to the front
    h.served(("d",))  # full: the least recently served, b, leaves
    assert h.keys() == ["d", "a", "c"] and len(h) == 3 and "b" not in h
    h.served(())  # nothing to record
    assert len(h) == 3


def test_capacity_is_a_few_keys_a_slot_within_what_status_carries() -> None:
    assert holdings_capacity(4) == 16 and holdings_capacity(8) == 32
    assert holdings_capacity(0) == 16 and holdings_capacity(4096) == MAX_PREFIXES
    assert PrefixHoldings(10**6).capacity == MAX_PREFIXES


def test_capacity_zero_records_nothing() -> None:
    h = PrefixHoldings(0)
    h.served(("a", "b"))
    assert h.keys() == [] and "b" not in h
