"""The Pod Security "restricted" checker refuses what the API server would refuse."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from llamanet_operator.podsecurity import (
    container_security_context,
    hardening_gaps,
    pod_security_context,
    restricted_violations,
)


def good_pod() -> dict[str, Any]:
    return {
        "securityContext": pod_security_context(),
        "automountServiceAccountToken": False,
        "containers": [{"name": "node", "securityContext": container_security_context()}],
        "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "key", "secret": {"secretName": "k"}}],
    }


def test_good_pod_passes() -> None:
    assert restricted_violations(good_pod()) == [] and hardening_gaps(good_pod()) == []


def _mutate(path: str, value: Any) -> dict[str, Any]:
    pod = copy.deepcopy(good_pod())
    target: Any = pod
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target.setdefault(key, {})
    last = keys[-1]
    if value is None:
        target.pop(last, None)
    else:
        target[last] = value
    return pod


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("hostNetwork", True, "hostNetwork"),
        ("containers.0.securityContext.privileged", True, "privileged"),
        ("containers.0.securityContext.allowPrivilegeEscalation", None, "allowPrivilegeEscalation"),
        ("containers.0.securityContext.runAsNonRoot", False, "runAsNonRoot"),
        ("containers.0.securityContext.runAsUser", 0, "runAsUser is 0"),
        ("securityContext.seccompProfile", {"type": "Unconfined"}, "seccompProfile"),
        ("containers.0.securityContext.capabilities", {"drop": ["NET_RAW"]}, "drop ALL"),
        ("containers.0.securityContext.capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}, "SYS_ADMIN"),
        ("containers.0.ports", [{"containerPort": 80, "hostPort": 80}], "hostPort"),
        ("volumes", [{"name": "h", "hostPath": {"path": "/"}}], "hostPath"),
        ("volumes", [{"name": "n", "nfs": {"server": "x", "path": "/"}}], "nfs"),
    ],
)
def test_each_rule_refuses(path: str, value: Any, expected: str) -> None:
    found = restricted_violations(_mutate(path, value))
    assert any(expected in f for f in found), found


def test_pod_level_non_root_and_seccomp_cover_containers() -> None:
    pod = _mutate("containers.0.securityContext.runAsNonRoot", None)
    assert restricted_violations(pod) == []
    pod["securityContext"].pop("runAsNonRoot")
    assert any("runAsNonRoot" in f for f in restricted_violations(pod))
    bare = _mutate("securityContext.seccompProfile", None)
    assert any("seccompProfile is None" in f for f in restricted_violations(bare))


def test_hardening_gaps_name_a_writable_root_and_the_token() -> None:
    pod = _mutate("containers.0.securityContext.readOnlyRootFilesystem", None)
    pod.pop("automountServiceAccountToken")
    assert len(hardening_gaps(pod)) == 2
