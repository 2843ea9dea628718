"""The Helm chart, rendered and linted by the real helm binary (scripts/k8s-tools.sh provides it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "llamanet"
VALUES = Path(__file__).with_name("values-llamanodes.yaml")
RECOMMENDED = ("name", "instance", "version", "component", "part-of", "managed-by")

pytestmark = pytest.mark.chart


@pytest.fixture(scope="module")
def helm() -> Path:
    env = {**os.environ, "PYTHON": sys.executable}
    out = subprocess.run(
        [str(ROOT / "scripts" / "k8s-tools.sh")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    return Path(out.stdout.strip().splitlines()[-1]) / "helm"


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=120, check=False)


def render(helm: Path, *args: str) -> list[dict[str, Any]]:
    out = run_helm(helm, "template", "rel", str(CHART), "--namespace", "demo", *args)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_lint_clean(helm: Path) -> None:
    for extra in ([], ["-f", str(VALUES)], ["--set", "operator.scope=cluster"]):
        out = run_helm(helm, "lint", "--strict", str(CHART), *extra)
        assert out.returncode == 0, out.stdout + out.stderr


def test_default_render_has_operator_rbac_and_labels(helm: Path) -> None:
    docs = render(helm)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Role",
        "RoleBinding",
        "ServiceAccount",
    ]
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert all(f"app.kubernetes.io/{k}" in labels for k in RECOMMENDED), doc["kind"]
    (deploy,) = (d for d in docs if d["kind"] == "Deployment")
    # `command`, not `args`: the whole command line, whatever the image's ENTRYPOINT
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    args = container["command"]
    assert args[0] == "llamanet-operator" and "--namespace=demo" in args
    assert {"name": "LLAMANET_OPERATOR_LOG_LEVEL", "value": "INFO"} in container["env"]
    assert "--liveness=http://0.0.0.0:8080/healthz" in args
    (role,) = (d for d in docs if d["kind"] == "Role")
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert "*" not in verbs and not {"deletecollection", "escalate", "bind"} & verbs


def test_cluster_scope_uses_a_cluster_role(helm: Path) -> None:
    docs = render(helm, "--set", "operator.scope=cluster")
    assert not [d for d in docs if d["kind"] in ("Role", "RoleBinding")]
    (deploy,) = (d for d in docs if d["kind"] == "Deployment")
    assert "--all-namespaces" in deploy["spec"]["template"]["spec"]["containers"][0]["command"]
    (cr,) = (d for d in docs if d["kind"] == "ClusterRole")
    assert any("llamanodes" in r["resources"] for r in cr["rules"])


def test_llamanodes_from_values_and_the_test_hook(helm: Path) -> None:
    docs = render(helm, "-f", str(VALUES))
    nodes = [d for d in docs if d["kind"] == "LlamaNode"]
    assert [n["metadata"]["name"] for n in nodes] == ["smollm", "gemma"]
    assert nodes[0]["spec"]["replicas"] == 2 and nodes[1]["spec"]["resources"]["gpus"] == 1
    roles = [d for d in docs if d["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["demo", "other"]
    (test_pod,) = (d for d in docs if d["kind"] == "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    urls = [c["args"][0] for c in test_pod["spec"]["containers"]]
    assert "http://smollm.demo.svc:8000/v1/models" in urls[0]
    assert "http://gemma.demo.svc:9000/v1/models" in urls[1]
    for doc in docs:
        assert all(f"app.kubernetes.io/{k}" in doc["metadata"]["labels"] for k in RECOMMENDED), doc["kind"]


@pytest.mark.parametrize(
    "bad",
    [
        "operator.scope=everywhere",
        "operator.observeInterval=-1",
        "operator.image.pullPolicy=Sometimes",
        "llamaNodes[0].name=Bad_Name",
        "unknownKey=1",
    ],
)
def test_schema_rejects_bad_values(helm: Path, bad: str) -> None:
    out = run_helm(helm, "template", "rel", str(CHART), "--set", bad)
    assert out.returncode != 0
    assert "schema" in out.stderr.lower() or "values don't meet" in out.stderr.lower(), out.stderr


def test_chart_crd_equals_the_canonical_crd() -> None:
    assert (CHART / "crds" / "llamanode.yaml").read_bytes() == (ROOT / "crds" / "llamanode.yaml").read_bytes()


def test_notes_tell_how_to_reach_the_endpoint(helm: Path) -> None:
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    assert "/v1" in notes and "port-forward" in notes
    out = run_helm(
        helm, "install", "rel", str(CHART), "--namespace", "demo", "--dry-run=client", "-f", str(VALUES)
    )
    assert out.returncode == 0, out.stderr
    assert "http://smollm.demo.svc:8000/v1" in out.stdout


def test_every_value_is_commented() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    keys = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "-")) and ":" in stripped:
            keys += 1
            assert lines[i - 1].strip().startswith("#"), f"values.yaml line {i + 1} has no comment: {line}"
    assert keys > 20
