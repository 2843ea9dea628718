"""The decode step's prompt budget: short prompts first, long ones in chunks, the oldest always advances."""

from __future__ import annotations

import pytest

from llamanet.engine.step_plan import prompt_budget, prompt_takes


def test_a_lone_long_prompt_goes_in_step_sized_chunks() -> None:
    assert prompt_takes(0, [1100], n_batch=512, step_tokens=128) == [128]
    assert prompt_takes(0, [1100], n_batch=512, step_tokens=512) == [512]
    assert prompt_takes(0, [40], n_batch=512, step_tokens=128) == [40]


def test_a_short_prompt_is_evaluated_in_the_next_step_beside_an_older_long_one() -> None:
    # the old rule (first come, first served) gave the older prompt the whole budget: [124, 0]
    takes = prompt_takes(4, [1100, 60], n_batch=512, step_tokens=128)
    assert takes[1] == 60
    assert takes[0] == 128 - 4 - 60
    assert sum(takes) + 4 <= 128


def test_shortest_remaining_first_among_newer_prompts() -> None:
    # the oldest gets its quarter (32); the rest goes to the shortest: 30 in full, then 66 of the 90
    assert prompt_takes(0, [1000, 500, 30, 90], n_batch=512, step_tokens=128) == [32, 0, 30, 66]


def test_the_oldest_prompt_always_advances() -> None:
    # short newer prompts that would fill the whole budget still leave the oldest a quarter of it
    takes = prompt_takes(0, [1000, 64, 64, 64], n_batch=512, step_tokens=128)
    assert takes[0] == 32
    assert sum(takes) == 128


def test_many_generating_sequences_leave_prompts_a_quarter() -> None:
    assert prompt_budget(200, n_batch=512, step_tokens=128) == 32
    assert prompt_budget(0, n_batch=512, step_tokens=128) == 128
    assert prompt_budget(16, n_batch=512, step_tokens=128) == 112


def test_n_batch_stays_the_hard_limit() -> None:
    assert prompt_budget(6, n_batch=8, step_tokens=128) == 2
    assert prompt_budget(8, n_batch=8, step_tokens=128) == 0
    assert prompt_takes(8, [100], n_batch=8, step_tokens=128) == [0]


@pytest.mark.parametrize("gen", [0, 3, 8])
@pytest.mark.parametrize("pending", [[1], [5, 1000], [300, 20, 20, 700], [128] * 8])
def test_takes_never_exceed_what_is_pending_or_the_budget(gen: int, pending: list[int]) -> None:
    takes = prompt_takes(gen, pending, n_batch=512, step_tokens=128)
    assert all(0 <= t <= p for t, p in zip(takes, pending, strict=True))
    assert sum(takes) == min(sum(pending), prompt_budget(gen, 512, 128))
    assert takes[0] > 0
