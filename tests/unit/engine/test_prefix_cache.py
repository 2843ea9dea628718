"""The prompt cache's decision: which slot a request takes, and whose cached prefix it reuses."""

from llamanet.engine.prefix_cache import Placement, SlotState, awaited, lru_order, place

SYSTEM = list(range(100, 200))  # a 100-token shared system prompt


def slot(i: int, tokens: list[int], busy: bool = False, last_used: float = 0.0) -> SlotState:
    return SlotState(i, tokens, busy, last_used)


def test_a_busy_slots_prefix_is_copied_into_the_least_recently_used_free_slot() -> None:
    slots = [
        slot(0, [*SYSTEM, 1, 2, 3, 4], busy=True),  # still generating after the system prompt
        slot(1, [7, 8, 9], last_used=5.0),
        slot(2, [5, 6], last_used=2.0),
    ]
    assert place([*SYSTEM, 9, 9], slots) == Placement(slot=2, keep=100, source=0)


def test_an_idle_slot_holding_the_prefix_is_used_as_it_is() -> None:
    slots = [slot(0, [*SYSTEM, 1], last_used=9.0), slot(1, [], last_used=0.0), slot(2, SYSTEM, busy=True)]
    assert place([*SYSTEM, 1, 2], slots) == Placement(slot=0, keep=101)


def test_at_least_the_last_prompt_token_is_evaluated() -> None:
    assert place(SYSTEM, [slot(0, SYSTEM)]) == Placement(0, 99)
    assert place(SYSTEM, [slot(0, [1]), slot(1, SYSTEM, busy=True)]) == Placement(0, 99, source=1)
    assert place([5], [slot(0, [5])]) == Placement(0, 0)


def test_a_copy_must_save_min_copy_tokens_over_the_slots_own_prefix() -> None:
    slots = [slot(0, SYSTEM[:90]), slot(1, SYSTEM, busy=True)]
    assert place([*SYSTEM, 1], slots, min_copy=32) == Placement(0, 90)
    assert place([*SYSTEM, 1], slots, min_copy=10) == Placement(0, 100, source=1)


def test_a_short_shared_opening_does_not_evict_a_long_cached_prompt() -> None:
    """Slot 0 holds a long prompt that shares only a 3-token opening: the empty slot 1 is taken."""
    slots = [slot(0, [1, 2, 3, *SYSTEM], last_used=4.0), slot(1, [], last_used=0.0)]
    assert place([1, 2, 3, 50, 51], slots) == Placement(1, 0)
    # ...but a whole short prompt served again reuses its own slot
    assert place([1, 2, 3, 4], [slot(0, [1, 2, 3, 4, 5], last_used=4.0), slot(1, [])]) == Placement(0, 3)


def test_eviction_is_least_recently_used_first() -> None:
    slots = [slot(0, [1], last_used=3.0), slot(1, [2], busy=True), slot(2, [3], last_used=1.0), slot(3, [4])]
    assert [s.id for s in lru_order(slots)] == [3, 2, 0]
    # a prompt sharing nothing goes to the least recently used free slot
    assert place([9, 9, 9], slots) == Placement(3, 0)
    assert place([9, 9, 9], slots[:3]) == Placement(2, 0)


def test_sources_waiting_for_a_copy_and_reuse_off() -> None:
    slots = [slot(0, SYSTEM, busy=True), slot(1, [])]
    assert place([*SYSTEM, 1], slots, no_source={0}) == Placement(1, 0)
    assert place([*SYSTEM, 1], [slot(0, [*SYSTEM, 1], last_used=2.0), slot(1, [])], reuse=False) == (
        Placement(1, 0)
    )


def test_no_free_slot() -> None:
    assert place([1, 2], [slot(0, [1, 2], busy=True)]) is None


def prefilling(i: int, done: list[int], pending: list[int]) -> SlotState:
    return SlotState(i, done, True, 0.0, pending)


def test_a_request_waits_for_a_slot_still_evaluating_its_prefix() -> None:
    """Requests arriving together: slot 0 has evaluated 40 of the shared 100 tokens."""
    slots = [prefilling(0, SYSTEM[:40], [*SYSTEM[40:], 1, 2]), slot(1, []), slot(2, [])]
    prompt = [*SYSTEM, 7, 8]
    keep_now = place(prompt, slots)
    assert keep_now == Placement(1, 40, source=0)  # now: only the 40 evaluated tokens could be copied
    assert awaited(prompt, slots, keep_now.keep) == 0
    # once the slot's evaluated positions cover the shared part there is nothing more to wait for
    done = [prefilling(0, [*SYSTEM, 1], [2]), slot(1, [])]
    assert awaited(prompt, done, 0) is None
    assert place(prompt, done) == Placement(1, 100, source=0)


def test_waiting_must_save_min_copy_tokens() -> None:
    slots = [prefilling(0, SYSTEM[:40], SYSTEM[40:]), slot(1, SYSTEM[:90])]
    prompt = [*SYSTEM, 7]
    assert awaited(prompt, slots, 90, min_copy=32) is None  # 10 more tokens: evaluate them now
    assert awaited(prompt, slots, 90, min_copy=5) == 0
    assert awaited(SYSTEM[:20], slots, 0) is None  # shares only what is evaluated already


def test_no_waiting_for_idle_slots_diverging_prompts_or_a_whole_prompt_evaluated() -> None:
    assert awaited([*SYSTEM, 7], [SlotState(0, SYSTEM[:40], False, 0.0, SYSTEM[40:])], 0) is None
    other = [9, *SYSTEM[1:]]  # diverges at its first token from what slot 0 evaluated
    assert awaited(other, [prefilling(0, SYSTEM[:40], SYSTEM[40:])], 0) is None
    # the request's own last token is always evaluated: at most len(prompt) - 1 is waited for
    assert awaited(SYSTEM[:41], [prefilling(0, SYSTEM[:40], SYSTEM[40:])], 0) is None


def test_of_several_slots_the_one_sharing_most_is_waited_for() -> None:
    slots = [prefilling(0, SYSTEM[:10], SYSTEM[10:60]), prefilling(1, SYSTEM[:5], SYSTEM[5:])]
    assert awaited([*SYSTEM, 1], slots, 0) == 1
