"""Pod Security "restricted" (pure): the security contexts the node pods get, and a checker of a pod spec
against the profile's rules (Kubernetes' Pod Security Standards, baseline + restricted, as of 1.35).

The checker is what the API server's admission enforces in a namespace labelled
``pod-security.kubernetes.io/enforce=restricted``; the unit tests run the StatefulSet's pod template
through it, so a builder change that would be refused there fails here first.
"""

from __future__ import annotations

from typing import Any

# the node image's user and group (images/node.Dockerfile: useradd --uid 10001 --user-group)
NODE_UID = 10001
NODE_GID = 10001

RESTRICTED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
_NOT_VOLUME_SOURCES = frozenset({"name"})
_SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})
_ADD_OK = frozenset({"NET_BIND_SERVICE"})
_SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)


def pod_security_context() -> dict[str, Any]:
    """The pod's: non-root as the image's user, RuntimeDefault seccomp, volumes group-owned by it.

    ``fsGroup`` makes the kubelet hand a root-owned volume (most provisioners') to group 10001;
    ``OnRootMismatch`` skips the recursive chown when the volume's root already matches (a large model
    cache is not walked on every start).
    """
    return {
        "runAsNonRoot": True,
        "runAsUser": NODE_UID,
        "runAsGroup": NODE_GID,
        "fsGroup": NODE_GID,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Every container's: no privilege escalation, no capabilities, a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        out += list(pod.get(key) or [])
    return out


def _baseline(pod: dict[str, Any], containers: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            out.append(f"{flag} is true")
    psc = pod.get("securityContext") or {}
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        out.append("pod: windowsOptions.hostProcess is true")
    bad_sysctls = [s.get("name") for s in psc.get("sysctls") or [] if s.get("name") not in _SAFE_SYSCTLS]
    if bad_sysctls:
        out.append(f"pod: unsafe sysctls {bad_sysctls}")
    for vol in pod.get("volumes") or []:
        if "hostPath" in vol:
            out.append(f"volume {vol.get('name')!r} is a hostPath")
    for c in containers:
        name = c.get("name", "?")
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            out.append(f"container {name!r}: privileged")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            out.append(f"container {name!r}: windowsOptions.hostProcess is true")
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"container {name!r}: procMount {sc.get('procMount')}")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                out.append(f"container {name!r}: hostPort {port['hostPort']}")
        for profile in (
            (sc.get("appArmorProfile") or {}).get("type"),
            (psc.get("appArmorProfile") or {}).get("type"),
        ):
            if profile == "Unconfined":
                out.append(f"container {name!r}: AppArmor Unconfined")
    return out


def _restricted(pod: dict[str, Any], containers: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    psc = pod.get("securityContext") or {}
    for vol in pod.get("volumes") or []:
        kinds = set(vol) - _NOT_VOLUME_SOURCES
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            out.append(
                f"volume {vol.get('name')!r}: type {sorted(kinds - RESTRICTED_VOLUME_TYPES)} not allowed"
            )
    if psc.get("runAsUser") == 0:
        out.append("pod: runAsUser is 0")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in _SECCOMP_OK:
        out.append(f"pod: seccompProfile {pod_seccomp}")
    for c in containers:
        name = c.get("name", "?")
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"container {name!r}: allowPrivilegeEscalation is not false")
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root is not True:
            out.append(f"container {name!r}: runAsNonRoot is not true")
        if sc.get("runAsUser") == 0:
            out.append(f"container {name!r}: runAsUser is 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in _SECCOMP_OK:
            out.append(f"container {name!r}: seccompProfile is {seccomp}, not RuntimeDefault or Localhost")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"container {name!r}: capabilities do not drop ALL")
        added = set(caps.get("add") or []) - _ADD_OK
        if added:
            out.append(f"container {name!r}: adds capabilities {sorted(added)}")
    return out


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Why ``pod`` (a pod spec, e.g. a template's) would be refused under "restricted"; [] when admitted."""
    containers = _containers(pod)
    return _baseline(pod, containers) + _restricted(pod, containers)


def hardening_gaps(pod: dict[str, Any]) -> list[str]:
    """What LlamaNet asks beyond the profile: read-only roots and no service-account token."""
    out = [
        f"container {c.get('name', '?')!r}: root filesystem is writable"
        for c in _containers(pod)
        if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True
    ]
    if pod.get("automountServiceAccountToken") is not False:
        out.append("pod: the service-account token is mounted")
    return out
