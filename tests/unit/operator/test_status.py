from __future__ import annotations

from typing import Any

from llamanet_operator.observe import (
    PullFailure,
    SwarmSummary,
    missing_mount,
    pull_failures,
    ready_pod_names,
    swarm_summary,
)
from llamanet_operator.scrape import NodeSample
from llamanet_operator.status import Observation, Problem, compute_status, new_warnings

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


def obs(**kw: Any) -> Observation:
    base: dict[str, Any] = {"generation": 3, "replicas": 2, "selector": "a=b", "endpoint": "http://x/v1"}
    return Observation(**(base | kw))


def conds(status: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["type"]: c for c in status["conditions"]}


def test_fresh_resource_is_progressing() -> None:
    status = compute_status(obs(), None, T0)
    c = conds(status)
    assert status["phase"] == "Progressing" and status["observedGeneration"] == 3
    assert c["ModelReady"]["reason"] == "Pulling" and c["Available"]["status"] == "False"
    assert c["Progressing"]["status"] == "True" and c["Degraded"]["status"] == "False"
    assert c["SwarmJoined"]["reason"] == "NoSwarmData"
    assert all(x["lastTransitionTime"] == T0 for x in status["conditions"])


def test_ready_when_rolled_out_and_swarm_joined() -> None:
    sts = {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "observedGeneration": 5}
    status = compute_status(obs(statefulset=sts, swarm=SwarmSummary(3, ["a", "b"])), None, T0)
    c = conds(status)
    assert status["phase"] == "Ready" and status["readyReplicas"] == 2
    assert c["ModelReady"]["status"] == c["Available"]["status"] == c["SwarmJoined"]["status"] == "True"
    assert c["Progressing"]["status"] == "False"
    assert status["swarm"] == {"peers": 3, "models": ["a", "b"]}


def test_transition_time_changes_only_with_status() -> None:
    first = compute_status(obs(), None, T0)
    same = compute_status(obs(), first, T1)
    assert conds(same)["Available"]["lastTransitionTime"] == T0
    sts = {"replicas": 2, "readyReplicas": 1, "updatedReplicas": 2, "observedGeneration": 1}
    changed = compute_status(obs(statefulset=sts), first, T1)
    assert conds(changed)["Available"]["lastTransitionTime"] == T1
    assert conds(changed)["Degraded"]["lastTransitionTime"] == T0


def test_checksum_failure_degrades_and_warns_once() -> None:
    fail = PullFailure("smollm-0", "ChecksumMismatch", "sha256 x does not match the expected y")
    status = compute_status(obs(pull_failures=[fail]), None, T0)
    c = conds(status)
    assert status["phase"] == "Degraded" and c["ModelReady"]["reason"] == "ChecksumMismatch"
    assert c["Degraded"]["status"] == "True" and "does not match" in c["Degraded"]["message"]
    assert [w["reason"] for w in new_warnings(None, status)] == ["ChecksumMismatch"]
    again = compute_status(obs(pull_failures=[fail]), status, T1)
    assert new_warnings(status, again) == []


def test_permanent_problem_fails_and_scaled_to_zero_stops() -> None:
    status = compute_status(obs(problem=Problem("InvalidSpec", "bad", permanent=True)), None, T0)
    assert status["phase"] == "Failed" and conds(status)["Degraded"]["reason"] == "InvalidSpec"
    temp = compute_status(obs(problem=Problem("MissingDependency", "no secret")), None, T0)
    assert temp["phase"] == "Degraded"
    zero = compute_status(obs(replicas=0, statefulset={"replicas": 0, "observedGeneration": 1}), None, T0)
    assert zero["phase"] == "Stopped" and conds(zero)["Available"]["reason"] == "ScaledToZero"


def test_pull_failures_read_from_init_container_status() -> None:
    pods = [
        {
            "metadata": {"name": "smollm-0"},
            "status": {
                "initContainerStatuses": [
                    {
                        "name": "pull-model",
                        "state": {"waiting": {}},
                        "lastState": {
                            "terminated": {
                                "exitCode": 1,
                                "message": "downloading\nllamanet: error: https://x/m.gguf: "
                                "sha256 aa does not match the expected bb",
                            }
                        },
                    }
                ]
            },
        },
        {
            "metadata": {"name": "smollm-1"},
            "status": {
                "initContainerStatuses": [
                    {"name": "pull-model", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
                ]
            },
        },
        {
            "metadata": {"name": "smollm-2"},
            "status": {
                "initContainerStatuses": [{"name": "pull-model", "state": {"terminated": {"exitCode": 0}}}]
            },
        },
    ]
    found = pull_failures(pods)
    assert [(f.pod, f.reason) for f in found] == [
        ("smollm-0", "ChecksumMismatch"),
        ("smollm-1", "ModelPullFailed"),
    ]
    assert found[0].message.startswith("llamanet: error:")


def test_swarm_summary_and_ready_pods() -> None:
    older = NodeSample(slots_total=1)  # a node without the swarm gauges
    newer = NodeSample(slots_total=1, swarm_nodes=2, models=["m1", "m2"])
    assert swarm_summary([older, newer]) == SwarmSummary(2, ["m1", "m2"])
    assert swarm_summary([older]) is None and swarm_summary([]) is None
    pods = [
        {"metadata": {"name": "p1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        {"metadata": {"name": "p0"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
    ]
    assert ready_pod_names(pods) == ["p1"]


def test_ready_text_and_queue_depth_for_the_printer_columns() -> None:
    status = compute_status(obs(statefulset={"replicas": 2, "readyReplicas": 1}, queue_depth=4), None, T0)
    assert status["ready"] == "1/2" and status["queueDepth"] == 4
    assert compute_status(obs(), None, T0)["queueDepth"] is None


def test_missing_secret_is_read_from_the_kubelets_failed_mounts() -> None:
    def event(pod: str, message: str, when: str, reason: str = "FailedMount") -> dict[str, Any]:
        return {
            "involvedObject": {"kind": "Pod", "name": pod},
            "reason": reason,
            "message": message,
            "lastTimestamp": when,
        }

    missing = 'MountVolume.SetUp failed for volume "api-key" : secret "missing-secret" not found'
    events = [
        event("other-0", missing, T1),  # another LlamaNode's pod
        event("smol-0", "MountVolume.SetUp failed: timeout", T1),
        event("smol-0", missing, T0),
        event("smol-0", missing, T1, reason="Scheduled"),
    ]
    found = missing_mount(events, {"smol-0", "smol-1"})
    assert found is not None and found.startswith("smol-0:") and "missing-secret" in found
    assert missing_mount(events[:2], {"smol-0"}) is None


def test_certificates_are_shown_only_with_an_authority() -> None:
    assert compute_status(obs(), None, T0)["certificates"] is None  # a merge patch: removes the field
    assert compute_status(obs(certificates="1/2"), None, T0)["certificates"] == "1/2"
