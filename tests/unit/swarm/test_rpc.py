"""When an unanswered request is sent again (``swarm.rpc.retry_delays``)."""

import pytest

from llamanet.swarm.rpc import retry_delays


def test_retries_double_and_stay_within_the_timeout() -> None:
    assert retry_delays(0.3, 3, 5.0) == pytest.approx([0.3, 0.9, 2.1])  # gaps 0.3, 0.6, 1.2
    assert retry_delays(0.3, 5, 5.0) == pytest.approx([0.3, 0.9, 2.1, 4.5])  # the next (9.3 s) is past it
    assert retry_delays(0.3, 3, 0.5) == pytest.approx([0.3])


def test_no_retries_when_off() -> None:
    assert retry_delays(0.3, 0, 5.0) == []
    assert retry_delays(0.0, 3, 5.0) == []
    assert retry_delays(5.0, 3, 5.0) == []
