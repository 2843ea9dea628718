"""Pure readers of what the operator observes: pods (init container failures, readiness) and the swarm
as the pods' ``/metrics`` (``scrape``) report it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llamanet_operator.scrape import NodeSample


@dataclass(frozen=True)
class SwarmSummary:
    """The swarm as one node sees it: how many nodes, which models."""

    peers: int
    models: list[str] = field(default_factory=list)

    def as_status(self) -> dict[str, Any]:
        return {"peers": self.peers, "models": self.models}


@dataclass(frozen=True)
class PullFailure:
    pod: str
    reason: str  # ChecksumMismatch | ModelPullFailed
    message: str


def swarm_summary(samples: list[NodeSample]) -> SwarmSummary | None:
    """The swarm as the first pod that reports it sees it (pods' ``/metrics``); None when none does."""
    for sample in samples:
        if sample.swarm_nodes is not None:
            return SwarmSummary(peers=sample.swarm_nodes, models=sample.models)
    return None


def pull_failures(pods: list[dict[str, Any]]) -> list[PullFailure]:
    """Init containers (the model pull) that failed, with the pull's own message."""
    out: list[PullFailure] = []
    for pod in pods:
        name = pod.get("metadata", {}).get("name", "?")
        for cs in (pod.get("status") or {}).get("initContainerStatuses") or []:
            if cs.get("name") != "pull-model":
                continue
            state = cs.get("state") or {}
            last = cs.get("lastState") or {}
            term = state.get("terminated") or last.get("terminated")
            if not term or term.get("exitCode", 0) == 0:
                continue
            message = (term.get("message") or term.get("reason") or "the model pull failed").strip()
            message = message.splitlines()[-1][:500] if message else "the model pull failed"
            reason = "ChecksumMismatch" if "sha256" in message and "match" in message else "ModelPullFailed"
            out.append(PullFailure(name, reason, message))
    return out


def missing_mount(events: list[dict[str, Any]], pods: set[str]) -> str | None:
    """The latest kubelet ``FailedMount`` of one of ``pods`` for a missing Secret (the operator does not
    read Secrets: the kubelet finds a missing one when it mounts it), as its message; None if none."""
    latest: tuple[str, str] | None = None
    for event in events:
        obj = event.get("involvedObject") or {}
        message = str(event.get("message") or "")
        if obj.get("kind") != "Pod" or obj.get("name") not in pods or event.get("reason") != "FailedMount":
            continue
        if "secret" not in message or "not found" not in message:
            continue
        when = str(event.get("lastTimestamp") or event.get("eventTime") or "")
        if latest is None or when >= latest[0]:
            latest = (when, f"{obj['name']}: {message[:300]}")
    return latest[1] if latest else None


def ready_pod_names(pods: list[dict[str, Any]]) -> list[str]:
    ready = []
    for pod in pods:
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            ready.append(pod["metadata"]["name"])
    return sorted(ready)
