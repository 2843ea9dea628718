"""skaffold.yaml checked by skaffold itself (issue 8): `skaffold run` builds both images with the local
Docker engine, loads them into a kind cluster (nothing pushed or pulled) and deploys the Helm chart.

skaffold is built from the Go module proxy (cluster/build-skaffold.sh, cached by version). The test uses
a cluster of its own, so the chart it deploys is the only operator there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.conftest import make_cluster
from e2e.kube import ARTIFACTS, CACHE, ROOT, Cluster, kubectl_binary, run, versions, wait_for
from e2e.product import OPERATOR_NAMESPACE, helm_binary, operator_pod


@pytest.fixture(scope="module")
def skaffold() -> str:
    run([str(ROOT / "cluster" / "build-skaffold.sh")], timeout=3600)
    return str(CACHE / "k8s" / "tools" / f"skaffold-{versions()['SKAFFOLD_VERSION']}")


@pytest.fixture(scope="module")
def site_s() -> Iterator[Cluster]:
    yield from make_cluster("llamanet-e2e-s")


def tool_path() -> str:
    """A PATH where skaffold finds kind, kubectl and helm (the versions this project builds/pins)."""
    bindir = ARTIFACTS / "skaffold-bin"
    bindir.mkdir(parents=True, exist_ok=True)
    kind = CACHE / "k8s" / "tools" / f"kind-{versions()['KIND_VERSION']}"
    for name, target in (("kind", kind), ("kubectl", Path(kubectl_binary())), ("helm", Path(helm_binary()))):
        link = bindir / name
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    return f"{bindir}:{os.environ['PATH']}"


def test_skaffold_run_builds_loads_and_deploys_the_chart_to_kind(skaffold: str, site_s: Cluster) -> None:
    env = {"PATH": tool_path(), "SKAFFOLD_UPDATE_CHECK": "false", "SKAFFOLD_INTERACTIVE": "false"}
    common = ["--kubeconfig", str(site_s.kubeconfig), "--kube-context", f"kind-{site_s.name}"]
    diagnose = run(
        [skaffold, "diagnose", "--yaml-only", "-f", str(ROOT / "skaffold.yaml")], env=env, cwd=ROOT
    )
    assert "llamanet/node" in diagnose.stdout and "llamanet/operator" in diagnose.stdout

    proc = run([skaffold, "run", *common, "--status-check=true"],
               env=env, cwd=ROOT, timeout=2400, check=False)  # fmt: skip
    (ARTIFACTS / "skaffold-run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    pod = wait_for("the operator deployed by skaffold to be ready", lambda: operator_pod(site_s), 180)
    spec = site_s.json("get", "pod", "-n", OPERATOR_NAMESPACE, pod)["spec"]
    image = spec["containers"][0]["image"]
    assert image.startswith("llamanet/operator:") and not image.endswith(":dev"), image
    node_image = next(
        e["value"] for e in spec["containers"][0]["env"] if e["name"] == "LLAMANET_OPERATOR_NODE_IMAGE"
    )
    # both images were loaded into the kind node by skaffold (kind load), none pulled
    loaded = run(["docker", "exec", site_s.node_container, "crictl", "images", "-o", "json"]).stdout
    assert image.split(":", 1)[1] in loaded and node_image.split(":", 1)[1] in loaded
    run([skaffold, "delete", *common], env=env, cwd=ROOT, timeout=600)
    wait_for("skaffold delete to remove the operator", lambda: not site_s.json(
        "get", "deployments", "-n", OPERATOR_NAMESPACE)["items"], 120)  # fmt: skip
