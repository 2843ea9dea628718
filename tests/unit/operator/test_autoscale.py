"""The autoscaler's decision: up at once on a queue, down one at a time after the delay, within bounds."""

from __future__ import annotations

import pytest

from llamanet_operator.autoscale import decide
from llamanet_operator.errors import SpecError
from llamanet_operator.scrape import NodeSample
from llamanet_operator.spec import Autoscaling, parse_spec
from tests.unit.operator.conftest import url_spec

T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:30Z", "2026-01-01T00:01:01Z"
AUTO = Autoscaling(min_replicas=1, max_replicas=3, target_queue_per_replica=2, scale_down_delay_seconds=60)


def pod(queue: int = 0, busy: int = 0, slots: int = 4) -> NodeSample:
    return NodeSample(queue_depth=queue, slots_busy=busy, slots_total=slots)


def test_a_queue_scales_up_at_once() -> None:
    d = decide(AUTO, 1, [pod(queue=3, busy=4)], None, T0)
    assert (d.replicas, d.changed, d.queue_depth) == (2, True, 3)
    assert decide(AUTO, 1, [pod(queue=9, busy=4)], None, T0).replicas == 3  # ceil(9/2) capped at max
    assert decide(AUTO, 1, [pod(queue=2, busy=4)], None, T0).replicas == 1  # at the target: enough


def test_at_max_it_stays() -> None:
    d = decide(AUTO, 3, [pod(queue=20, busy=4)] * 3, None, T0)
    assert not d.changed and "maxReplicas" in d.reason


def test_scale_down_waits_for_the_delay_and_steps_by_one() -> None:
    idle = [pod(), pod(busy=1)]
    first = decide(AUTO, 2, idle, None, T0)
    assert not first.changed and first.low_since == T0
    old = first.as_status(T0, None)
    second = decide(AUTO, 2, idle, old, T1)
    assert not second.changed and second.low_since == T0
    third = decide(AUTO, 2, idle, second.as_status(T1, old), T2)
    assert third.replicas == 1 and third.low_since is None
    assert third.as_status(T2, old)["lastScaleTime"] == T2


def test_load_between_resets_the_delay() -> None:
    first = decide(AUTO, 2, [pod()], None, T0)
    busy = decide(AUTO, 2, [pod(busy=4), pod(busy=3)], first.as_status(T0, None), T1)
    assert busy.low_since is None and not busy.changed  # 7 busy slots do not fit on one pod of 4
    again = decide(AUTO, 2, [pod()], busy.as_status(T1, None), T2)
    assert not again.changed and again.low_since == T2


def test_never_below_min_and_bounds_are_enforced() -> None:
    assert not decide(AUTO, 1, [pod()], {"lowSince": T0}, T2).changed
    assert decide(AUTO, 5, [pod()], None, T0).replicas == 3
    low = Autoscaling(min_replicas=2, max_replicas=3)
    assert decide(low, 1, [], None, T0).replicas == 2


def test_no_samples_keep_the_replicas() -> None:
    d = decide(AUTO, 2, [], None, T0)
    assert not d.changed and "no ready pod" in d.reason


def test_spec_autoscaling_defaults_and_bounds() -> None:
    spec = parse_spec(url_spec(autoscaling={"maxReplicas": 4}))
    assert spec.autoscaling == Autoscaling(
        min_replicas=1, max_replicas=4, target_queue_per_replica=2, scale_down_delay_seconds=300
    )
    assert parse_spec(url_spec()).autoscaling is None
    with pytest.raises(SpecError):
        parse_spec(url_spec(autoscaling={"minReplicas": 3, "maxReplicas": 2}))


def test_a_pass_that_does_not_scale_keeps_the_last_scale_time_and_never_writes_null() -> None:
    up = decide(AUTO, 1, [pod(queue=9, busy=4)], None, T0)
    assert up.changed and up.as_status(T0, None)["lastScaleTime"] == T0
    after = decide(AUTO, 3, [pod()] * 3, up.as_status(T0, None), T1)
    assert not after.changed and after.as_status(T1, up.as_status(T0, None))["lastScaleTime"] == T0
    # a pass that read the status before the scale's status landed (the update handler beside the
    # timer) must not send lastScaleTime: null, which a merge patch turns into "delete it"
    assert "lastScaleTime" not in decide(AUTO, 1, [pod()], None, T1).as_status(T1, None)
