"""Autoscaling from the queue depth of a LlamaNode's own pods (pure): samples -> desired replicas.

Only this LlamaNode's pods are read (never other sites' nodes): the queue is requests waiting for a
slot on them. Rules, with ``a = spec.autoscaling`` and ``n`` the current ``spec.replicas``:

- up at once: waiting requests above ``a.targetQueuePerReplica * n`` ->
  ``ceil(waiting / target)`` replicas (at most ``maxReplicas``, at least ``n + 1``);
- down one replica at a time: once nothing waits and the busy slots would fit on one replica fewer
  for ``a.scaleDownDelaySeconds`` in a row (``lowSince`` in the status remembers since when);
- always within ``[minReplicas, maxReplicas]``.

The decision and its inputs go to ``status.autoscaling``; a change of replicas becomes an Event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llamanet_operator.scrape import NodeSample
from llamanet_operator.spec import Autoscaling


@dataclass(frozen=True)
class Decision:
    replicas: int  # desired
    current: int
    queue_depth: int
    slots_busy: int
    reason: str
    low_since: str | None  # when the load first allowed a scale-down (ISO time), None while it does not

    @property
    def changed(self) -> bool:
        return self.replicas != self.current

    def as_status(self, now: str, old: dict[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "desiredReplicas": self.replicas,
            "queueDepth": self.queue_depth,
            "slotsBusy": self.slots_busy,
            "reason": self.reason,
            "lowSince": self.low_since,
        }
        last = now if self.changed else (old or {}).get("lastScaleTime")
        if last:  # never null: in a merge patch that would erase the time a concurrent pass just wrote
            out["lastScaleTime"] = last
        return out


def _seconds_between(since: str, now: str) -> float:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return (datetime.strptime(now, fmt) - datetime.strptime(since, fmt)).total_seconds()


def decide(
    auto: Autoscaling, current: int, samples: list[NodeSample], old: dict[str, Any] | None, now: str
) -> Decision:
    """The replicas ``auto`` asks for given the pods' ``samples`` (ready pods that answered)."""
    waiting = sum(s.queue_depth for s in samples)
    busy = sum(s.slots_busy for s in samples)
    slots_per_pod = max((s.slots_total for s in samples), default=1) or 1
    bounded = min(max(current, auto.min_replicas), auto.max_replicas)

    def decision(replicas: int, reason: str, low_since: str | None = None) -> Decision:
        return Decision(replicas, current, waiting, busy, reason, low_since)

    if bounded != current:
        return decision(bounded, f"replicas {current} outside [{auto.min_replicas}, {auto.max_replicas}]")
    if not samples:
        return decision(current, "no ready pod answered: keeping the replicas")
    if waiting > auto.target_queue_per_replica * current:
        want = max(current + 1, math.ceil(waiting / auto.target_queue_per_replica))
        want = min(want, auto.max_replicas)
        if want > current:
            return decision(
                want, f"{waiting} requests waiting, target {auto.target_queue_per_replica} per replica"
            )
        return decision(current, f"{waiting} requests waiting but already at maxReplicas {auto.max_replicas}")
    fits_fewer = waiting == 0 and busy <= (current - 1) * slots_per_pod
    if current > auto.min_replicas and fits_fewer:
        since = str((old or {}).get("lowSince") or now)
        if _seconds_between(since, now) >= auto.scale_down_delay_seconds:
            return decision(
                current - 1, f"idle enough for {auto.scale_down_delay_seconds}s: one replica fewer"
            )
        return decision(
            current, f"idle since {since}: waiting {auto.scale_down_delay_seconds}s to scale down", since
        )
    return decision(current, f"{waiting} waiting, {busy} slots busy: replicas fit the load")
