"""LlamaNet itself as the e2e tests install it: our images, the Helm chart, a model served over HTTP.

The model reaches the cluster as a user's would: a plain HTTP file server on this host (a Docker network's
gateway address, reachable from every pod) serves the GGUF files of the local model cache, and
the LlamaNode's init container downloads one with its sha256 checked.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import sys
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any

from e2e.kube import (
    ARTIFACTS,
    CACHE,
    RESTRICTED_CONTAINER,
    RESTRICTED_POD,
    ROOT,
    Cluster,
    first_host,
    run,
    wait_for,
)

TAG = "e2e"
OPERATOR_NAMESPACE = "llamanet-system"
RELEASE = "llamanet"


def build_images() -> dict[str, str]:
    """llamanet/node:e2e and llamanet/operator:e2e from this checkout (images/build.sh, layer-cached)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc = run(
        [str(ROOT / "images" / "build.sh"), "all"],
        env={"TAG": TAG, "LOG_DIR": str(ARTIFACTS)},
        timeout=3600,
        check=False,
    )
    (ARTIFACTS / "images-build.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"images/build.sh failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return {"node": f"llamanet/node:{TAG}", "operator": f"llamanet/operator:{TAG}"}


def helm_binary() -> str:
    helm = CACHE / "bin" / "helm"
    if not helm.exists():
        raise RuntimeError("no helm: run scripts/k8s-tools.sh (make k8s-tools)")
    return str(helm)


def helm(cluster: Cluster, *args: str, timeout: float = 600) -> str:
    return run([helm_binary(), "--kubeconfig", str(cluster.kubeconfig), *args], timeout=timeout).stdout


@dataclass(frozen=True)
class ServedModel:
    name: str
    url: str
    sha256: str
    size: int


class ModelServer:
    """Serves the model cache directory read-only over HTTP on all addresses of this host."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("0.0.0.0", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def model(self, name: str) -> ServedModel:
        """URL (as pods see it) and sha256 of a cached model."""
        manifest: dict[str, Any] = json.loads((self.root / name / "manifest.json").read_text())
        path = self.root / name / manifest["filename"]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == manifest["sha256"], f"{path} does not match its manifest"
        url = f"http://{kind_gateway()}:{self.port}/{name}/{manifest['filename']}"
        return ServedModel(name, url, digest, path.stat().st_size)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def kind_gateway() -> str:
    """This host's address on the first Docker network of the suite's clusters (site A's, else kind's):
    what pods use to reach the host. Any address of the host serves every network (it is the host's
    own, not forwarded across the networks' isolation)."""
    for network in ("llamanet-site-a", "kind"):
        found = run(["docker", "network", "inspect", network], check=False)
        if found.returncode != 0:
            continue
        for cfg in json.loads(found.stdout)[0]["IPAM"]["Config"]:
            gateway = cfg.get("Gateway", "")
            subnet = cfg.get("Subnet", "")
            if not gateway and subnet and ":" not in subnet:
                # Docker 20.10 names no gateway it chose itself: the bridge takes the subnet's first address
                gateway = first_host(subnet)
            if gateway and ":" not in gateway:
                return str(gateway)
    raise RuntimeError("no Docker network of the suite (llamanet-site-a, kind) has an IPv4 gateway")


def install_operator(cluster: Cluster, images: dict[str, str], extra: list[str] | None = None) -> None:
    """`helm upgrade --install` the chart with our images (loaded into the cluster, never pulled).

    Helm installs a chart's CRDs but never upgrades them, so the CRD is applied first (as
    docs/operator.md tells users to do on upgrades).
    """
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds" / "llamanode.yaml")
    )
    repo, tag = images["operator"].rsplit(":", 1)
    helm(
        cluster,
        "upgrade",
        "--install",
        RELEASE,
        str(ROOT / "charts" / "llamanet"),
        "--namespace",
        OPERATOR_NAMESPACE,
        "--create-namespace",
        "--wait",
        "--timeout",
        "5m",
        "--set",
        f"operator.image.repository={repo}",
        "--set",
        f"operator.image.tag={tag}",
        "--set",
        "operator.image.pullPolicy=Never",
        "--set",
        f"operator.nodeImage={images['node']}",
        # GPU LlamaNodes run the CUDA image; the e2e suite builds none (hours of compile): the CPU image
        # stands in, and shows that a GPU pod without a usable GPU serves on CPU and says so
        "--set",
        f"operator.nodeImageCuda={images['node']}",
        "--set",
        "operator.scope=cluster",
        "--set",
        "operator.observeInterval=5",
        *(extra or []),
    )
    # a kept cluster may run an older image under the same tag: restart onto the one just loaded
    cluster.kubectl("rollout", "restart", "-n", OPERATOR_NAMESPACE, f"deployment/{RELEASE}-operator")
    cluster.kubectl(
        "rollout", "status", "-n", OPERATOR_NAMESPACE, f"deployment/{RELEASE}-operator", "--timeout=180s"
    )
    wait_for("the operator to be ready", lambda: operator_pod(cluster), 180)


def operator_pod(cluster: Cluster) -> str | None:
    pods = cluster.json("get", "pods", "-n", OPERATOR_NAMESPACE, "-l", "app.kubernetes.io/component=operator")
    for pod in pods["items"]:
        conditions = pod["status"].get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        if ready and not pod["metadata"].get("deletionTimestamp"):
            return str(pod["metadata"]["name"])
    return None


def llamanode(name: str, model: ServedModel, replicas: int = 2, **spec: Any) -> str:
    """A LlamaNode manifest (JSON is YAML) for MODEL served over HTTP."""
    body: dict[str, Any] = {
        "apiVersion": "llamanet.io/v1alpha1",
        "kind": "LlamaNode",
        "metadata": {"name": name},
        "spec": {
            "model": {"name": model.name, "source": {"url": model.url, "sha256": model.sha256}},
            "replicas": replicas,
            "imagePullPolicy": "Never",
            "engine": {"contextSize": 1024, "threads": 1},
            "resources": {"requests": {"cpu": "50m", "memory": "256Mi"}},
            **spec,
        },
    }
    return json.dumps(body)


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def build_openai_client(node_image: str) -> str:
    """llamanet.local/openai-client:e2e: the node image plus the `openai` SDK (wheels fetched here)."""
    sdk = version("openai")
    wheels = CACHE / "wheels" / f"openai-{sdk}"
    if not (wheels / ".complete").exists():
        wheels.mkdir(parents=True, exist_ok=True)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--only-binary=:all:",
                "--python-version",
                "3.11",
                "-d",
                str(wheels),
                f"openai=={sdk}",
            ],
            timeout=600,
        )
        (wheels / ".complete").touch()
    ctx = ARTIFACTS / "openai-client-build"
    shutil.rmtree(ctx, ignore_errors=True)
    shutil.copytree(ROOT / "e2e" / "openai-client", ctx)
    shutil.copytree(wheels, ctx / "wheels")
    tag = f"llamanet.local/openai-client:{TAG}"
    run(
        ["docker", "build", "-q", "--build-arg", f"NODE_IMAGE={node_image}", "-t", tag, str(ctx)], timeout=900
    )
    return tag


def run_pod(
    cluster: Cluster,
    ns: str,
    name: str,
    image: str,
    args: list[str],
    timeout: float = 300,
    command: list[str] | None = None,
) -> str:
    """Run a one-shot pod to completion; its logs (raises with them if it fails)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            # the node image's user is a name: give its uid, so the kubelet can check it is not root
            "securityContext": {**RESTRICTED_POD, "runAsUser": 10001},
            "containers": [
                {
                    "name": name,
                    "image": image,
                    "imagePullPolicy": "Never",
                    "args": args,
                    "securityContext": RESTRICTED_CONTAINER,
                }
                | ({"command": command} if command else {})
            ],
        },
    }
    cluster.apply(json.dumps(pod), ns)

    def finished() -> str | None:
        phase = cluster.pod_phase(ns, name)
        return phase if phase in ("Succeeded", "Failed") else None

    phase = wait_for(f"pod {name} to finish", finished, timeout, 2)
    logs = cluster.kubectl("logs", "-n", ns, name)
    cluster.kubectl("delete", "pod", "-n", ns, name, "--wait=false", check=False)
    if phase != "Succeeded":
        raise RuntimeError(f"pod {name} failed:\n{logs[-3000:]}")
    return logs


CHAT_SCRIPT = """
import json, sys, urllib.request
url, model = sys.argv[1], sys.argv[2]
body = {"model": model, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}
req = urllib.request.Request(url + "/chat/completions", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=120) as resp:
    print(json.dumps({"answer": json.load(resp), "node": resp.headers.get("x-llamanet-node")}))
"""


def chat_in_cluster(cluster: Cluster, ns: str, base_url: str, model: str, node_image: str) -> dict[str, Any]:
    """One chat completion from a pod in NS to BASE_URL (e.g. a LlamaNode's endpoint); the answer and
    the x-llamanet-node header (which node generated it)."""
    name = f"chat-{abs(hash((base_url, model))) % 100000}"
    logs = run_pod(cluster, ns, name, node_image, [CHAT_SCRIPT, base_url, model], command=["python", "-c"])
    out: dict[str, Any] = json.loads(logs.strip().splitlines()[-1])
    return out
