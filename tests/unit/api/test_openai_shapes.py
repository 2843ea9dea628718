"""The OpenAI answers' usage and llama-server ``timings``, from an engine's ``Finished`` event."""

from __future__ import annotations

import pytest

from llamanet.api.openai_shapes import timings, usage
from llamanet.engine.events import Finished


def finished() -> Finished:
    # 120 prompt tokens, 90 cached; 1.5 s waiting for a slot, first token at 2.0 s, done at 4.0 s
    return Finished("stop", 120, 20, 90, 2.0, 4.0, queue_time=1.5)


def test_timings_split_the_time_to_first_token_into_queue_and_prompt() -> None:
    t = timings(finished())
    assert t["cache_n"] == 90 and t["prompt_n"] == 30 and t["predicted_n"] == 20
    assert t["queue_ms"] == pytest.approx(1500) and t["prompt_ms"] == pytest.approx(500)
    assert t["predicted_ms"] == pytest.approx(2000)
    assert t["prompt_per_second"] == pytest.approx(60) and t["predicted_per_second"] == pytest.approx(10)


def test_timings_of_a_fully_cached_instant_answer_divide_by_nothing() -> None:
    t = timings(Finished("length", 5, 1, 5, 0.0, 0.0))
    assert t["prompt_n"] == 0 and t["prompt_per_second"] == 0.0 and t["predicted_per_second"] == 0.0


def test_usage_reports_cached_tokens() -> None:
    u = usage([finished(), finished()])
    assert u["prompt_tokens"] == 240 and u["total_tokens"] == 280
    assert u["prompt_tokens_details"] == {"cached_tokens": 180}
