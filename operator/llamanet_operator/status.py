"""Status of a LlamaNode from what was observed (pure): phase, conditions, counts, swarm, endpoint.

Conditions: ModelReady, Available, SwarmJoined, Progressing, Degraded. A condition's
``lastTransitionTime`` changes only when its status does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llamanet_operator.observe import PullFailure, SwarmSummary


@dataclass(frozen=True)
class Problem:
    """Something that keeps the LlamaNode from running: an invalid spec, a missing Secret ..."""

    reason: str
    message: str
    permanent: bool = False


@dataclass(frozen=True)
class Observation:
    generation: int
    replicas: int  # desired (spec)
    selector: str
    endpoint: str
    statefulset: dict[str, Any] | None = None  # the StatefulSet's status, None before it exists
    pull_failures: list[PullFailure] = field(default_factory=list)
    swarm: SwarmSummary | None = None
    problem: Problem | None = None
    queue_depth: int | None = None  # requests waiting on the ready pods that answered; None: none did
    certificates: str | None = None  # "certified/replicas" with the operator's swarm authority, else None


def _cond(type_: str, ok: bool, reason: str, message: str) -> dict[str, str]:
    return {"type": type_, "status": "True" if ok else "False", "reason": reason, "message": message}


def conditions(obs: Observation) -> list[dict[str, str]]:
    sts = obs.statefulset or {}
    ready = int(sts.get("readyReplicas") or 0)
    updated = int(sts.get("updatedReplicas") or 0)
    current = int(sts.get("replicas") or 0)
    sts_gen = sts.get("observedGeneration")
    failure = obs.pull_failures[0] if obs.pull_failures else None

    if ready > 0:
        model = _cond("ModelReady", True, "Loaded", f"{ready} replica(s) serve the model")
    elif failure is not None:
        model = _cond("ModelReady", False, failure.reason, f"{failure.pod}: {failure.message}")
    else:
        model = _cond("ModelReady", False, "Pulling", "the model is being pulled or loaded")

    if obs.replicas == 0:
        available = _cond("Available", False, "ScaledToZero", "spec.replicas is 0")
    elif ready > 0:
        available = _cond("Available", True, "ReplicasReady", f"{ready}/{obs.replicas} replicas ready")
    else:
        available = _cond("Available", False, "NoReadyReplicas", f"0/{obs.replicas} replicas ready")

    if obs.swarm is None:
        swarm = _cond("SwarmJoined", False, "NoSwarmData", "no ready node reported the swarm (/metrics) yet")
    elif obs.swarm.peers >= max(ready, 1):
        swarm = _cond("SwarmJoined", True, "Joined", f"the swarm has {obs.swarm.peers} node(s)")
    else:
        swarm = _cond("SwarmJoined", False, "Partial", f"{obs.swarm.peers} node(s) seen, {ready} ready here")

    settled = (
        obs.statefulset is not None
        and sts_gen is not None
        and updated >= obs.replicas
        and current == obs.replicas
        and ready == obs.replicas
    )
    if obs.problem is not None and obs.statefulset is None:
        progressing = _cond("Progressing", False, obs.problem.reason, "blocked: see Degraded")
    elif settled:
        progressing = _cond("Progressing", False, "RolloutComplete", "every replica is updated and ready")
    else:
        progressing = _cond("Progressing", True, "RollingOut", f"{updated} updated, {ready} ready")

    if obs.problem is not None:
        degraded = _cond("Degraded", True, obs.problem.reason, obs.problem.message)
    elif failure is not None:
        degraded = _cond("Degraded", True, failure.reason, f"{failure.pod}: {failure.message}")
    else:
        degraded = _cond("Degraded", False, "AsExpected", "no problem observed")
    return [model, available, swarm, progressing, degraded]


def phase(conds: list[dict[str, str]], obs: Observation) -> str:
    by = {c["type"]: c for c in conds}
    if obs.problem is not None and obs.problem.permanent:
        return "Failed"
    if by["Degraded"]["status"] == "True":
        return "Degraded"
    if obs.replicas == 0:
        return "Stopped"
    if by["Progressing"]["status"] == "False" and by["Available"]["status"] == "True":
        return "Ready"
    return "Progressing"


def merge_transitions(
    old: list[dict[str, Any]] | None, new: list[dict[str, str]], now: str
) -> list[dict[str, str]]:
    """``new`` with each condition's lastTransitionTime kept from ``old`` unless its status changed."""
    before = {c.get("type"): c for c in old or []}
    out = []
    for cond in new:
        prev = before.get(cond["type"])
        same = prev is not None and prev.get("status") == cond["status"] and prev.get("lastTransitionTime")
        out.append({**cond, "lastTransitionTime": str(prev["lastTransitionTime"]) if same and prev else now})
    return out


def compute_status(obs: Observation, old: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """The whole status subresource (the kopf-managed keys aside)."""
    conds = conditions(obs)
    sts = obs.statefulset or {}
    return {
        "phase": phase(conds, obs),
        "observedGeneration": obs.generation,
        "replicas": int(sts.get("replicas") or 0),
        "readyReplicas": int(sts.get("readyReplicas") or 0),
        "ready": f"{int(sts.get('readyReplicas') or 0)}/{obs.replicas}",
        "queueDepth": obs.queue_depth,
        "certificates": obs.certificates,
        "selector": obs.selector,
        "endpoint": obs.endpoint,
        "swarm": obs.swarm.as_status() if obs.swarm else {"peers": 0, "models": []},
        "conditions": merge_transitions((old or {}).get("conditions"), conds, now),
    }


def new_warnings(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, str]]:
    """Conditions that just turned bad (Degraded True, or a new reason): each deserves one Event."""
    before = {c.get("type"): c for c in (old or {}).get("conditions") or []}
    out = []
    for cond in new.get("conditions", []):
        if cond["type"] != "Degraded" or cond["status"] != "True":
            continue
        prev = before.get("Degraded")
        if prev is None or prev.get("status") != "True" or prev.get("reason") != cond["reason"]:
            out.append(cond)
    return out
