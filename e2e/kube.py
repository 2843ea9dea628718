"""A kind cluster as the e2e tests see it: kubectl against its kubeconfig, waits, diagnostics."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from e2e.sites import Site

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("LLAMANET_CACHE", Path.home() / ".cache" / "llamanet"))
ARTIFACTS = ROOT / "artifacts" / "e2e"
GPU = "nvidia.com/gpu"
T = TypeVar("T")


def versions() -> dict[str, str]:
    """cluster/versions.env as a dict (the single place the cluster's versions are written)."""
    out: dict[str, str] = {}
    for line in (ROOT / "cluster" / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def kubectl_binary() -> str:
    """The kubectl built with the cluster (same version), else the one from scripts/k8s-tools.sh."""
    built = CACHE / "k8s" / versions()["K8S_VERSION"] / "bin" / "kubectl"
    for candidate in (built, CACHE / "bin" / "kubectl"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("no kubectl: run cluster/build-k8s.sh or scripts/k8s-tools.sh")
    return found


def run(
    cmd: list[str],
    *,
    input: str | None = None,
    timeout: float = 300,
    check: bool = True,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        cmd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def address_on(container: str, network: str) -> str:
    """``container``'s address on Docker network ``network``."""
    nets = json.loads(
        run(["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", container]).stdout
    )
    address = str(nets.get(network, {}).get("IPAddress", ""))
    if not address:
        raise RuntimeError(f"{container} has no address on the {network} network")
    return address


def first_host(subnet: str) -> str:
    """A subnet's first address: the gateway Docker gives a bridge network unless told another."""
    return str(next(ipaddress.ip_network(subnet).hosts()))


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 180, interval: float = 1.0) -> T:
    """Poll PROBE until it returns something truthy; raise TimeoutError naming WHAT (and the last error)."""
    deadline = time.monotonic() + timeout
    last: str = ""
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # probes fail while things come up; keep the last reason
            last = f": last error {exc}"
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{last}")
        time.sleep(interval)


# the labels of every namespace the suite makes: Pod Security "restricted" enforced by the API server
RESTRICTED_LABELS = (
    "pod-security.kubernetes.io/enforce=restricted",
    "pod-security.kubernetes.io/enforce-version=latest",
)
# what "restricted" asks of the suite's own pods (images with a numeric non-root USER)
RESTRICTED_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


@dataclass(frozen=True)
class Cluster:
    """One kind cluster: NAME, its kubeconfig file and the node container(s); ``site`` the network and
    NAT router it sits behind (``e2e/sites.py``), None on kind's own network."""

    name: str
    kubeconfig: Path
    site: Site | None = None

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 300, check: bool = True) -> str:
        cmd = [kubectl_binary(), "--kubeconfig", str(self.kubeconfig), *args]
        return run(cmd, input=input, timeout=timeout, check=check).stdout

    def try_apply(self, manifest: str, namespace: str) -> subprocess.CompletedProcess[str]:
        """`kubectl apply` that may fail (schema tests): the finished process, whatever its status."""
        cmd = [kubectl_binary(), "--kubeconfig", str(self.kubeconfig), "apply", "-n", namespace, "-f", "-"]
        return run(cmd, input=manifest, check=False)

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def apply(self, manifest: str, namespace: str | None = None) -> str:
        ns = ["-n", namespace] if namespace else []
        return self.kubectl("apply", *ns, "-f", "-", input=manifest)

    @property
    def node_container(self) -> str:
        """kind names a single-node cluster's node container NAME-control-plane."""
        return f"{self.name}-control-plane"

    def node_ip(self) -> str:
        """The node's address on its own Docker network (its site's, or kind's)."""
        return address_on(self.node_container, self.site.network if self.site else "kind")

    def external_host(self) -> str:
        """Where other sites reach this cluster's NodePorts: its site router's WAN address (the NAT in
        front of it), or the node itself on kind's flat network."""
        return self.site.wan_host if self.site else self.node_ip()

    def exec_in_pod(self, namespace: str, pod: str, *command: str, timeout: float = 60) -> str:
        return self.kubectl("exec", "-n", namespace, pod, "--", *command, timeout=timeout)

    def pod_phase(self, namespace: str, pod: str) -> str:
        phase: str = self.json("get", "pod", "-n", namespace, pod)["status"].get("phase", "")
        return phase

    def wait_pods_ready(self, namespace: str, selector: str, count: int, timeout: float = 240) -> list[str]:
        def ready() -> list[str] | None:
            pods = self.json("get", "pods", "-n", namespace, "-l", selector)["items"]
            names = [
                p["metadata"]["name"]
                for p in pods
                if any(
                    c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])
                )
                and not p["metadata"].get("deletionTimestamp")
            ]
            return sorted(names) if len(names) >= count else None

        return wait_for(f"{count} ready pod(s) {selector} in {self.name}/{namespace}", ready, timeout)

    def advertise_gpus(self, count: int) -> str:
        """Advertise COUNT ``nvidia.com/gpu`` on the (single) node by a status patch, as a device plugin
        would; returns the node's name once its allocatable shows them."""
        node = str(self.json("get", "nodes")["items"][0]["metadata"]["name"])
        patch = json.dumps({"status": {"capacity": {GPU: str(count)}}})
        self.kubectl("patch", "node", node, "--subresource=status", "--type=merge", "-p", patch)
        wait_for(
            f"{node} to report allocatable {GPU}",
            lambda: self.json("get", "node", node)["status"]["allocatable"].get(GPU) == str(count),
            60,
        )
        return node

    def withdraw_gpus(self) -> None:
        node = self.json("get", "nodes")["items"][0]["metadata"]["name"]
        remove = json.dumps([{"op": "remove", "path": "/status/capacity/nvidia.com~1gpu"}])
        self.kubectl("patch", "node", node, "--subresource=status", "--type=json", "-p", remove, check=False)

    def unschedulable_for_gpus(self, namespace: str, pod: str) -> bool:
        """POD is Pending because no node offers the GPUs it asks for (the scheduler says so)."""
        conds = self.json("get", "pod", "-n", namespace, pod)["status"].get("conditions", [])
        return any(
            c["type"] == "PodScheduled" and c["status"] == "False" and GPU in c.get("message", "")
            for c in conds
        )

    def dump(self, dest: Path, namespaces: list[str]) -> Path:
        """Events, pod descriptions and container logs of NAMESPACES (plus kube-system) into DEST."""
        dest.mkdir(parents=True, exist_ok=True)
        for ns in [*namespaces, "kube-system"]:
            for what, args in (
                ("events", ["get", "events", "-n", ns, "--sort-by=.lastTimestamp"]),
                ("pods", ["describe", "pods", "-n", ns]),
                ("all", ["get", "all,pvc,llamanodes", "-n", ns, "-o", "wide"]),
            ):
                text = self.kubectl(*args, check=False, timeout=60)
                (dest / f"{self.name}-{ns}-{what}.txt").write_text(text)
            pods = self.json("get", "pods", "-n", ns).get("items", [])
            for pod in pods:
                name = pod["metadata"]["name"]
                text = self.kubectl(
                    "logs",
                    "-n",
                    ns,
                    name,
                    "--all-containers",
                    "--prefix",
                    "--tail=400",
                    check=False,
                    timeout=60,
                )
                (dest / f"{self.name}-{ns}-{name}.log").write_text(text)
        return dest
