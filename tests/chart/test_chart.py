"""The Helm chart, rendered and linted by the real helm binary (scripts/k8s-tools.sh provides it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from llamanet.engine.stats import EngineStats
from llamanet.metrics import NodeMetrics
from llamanet_operator.podsecurity import hardening_gaps, restricted_violations
from llamanet_operator.policy import default_image
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import parse_spec
from tests.unit.operator.conftest import url_spec

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "llamanet"
VALUES = Path(__file__).with_name("values-llamanodes.yaml")
DASHBOARD = CHART / "dashboards" / "llamanet-node.json"
AUTHORITY = ["--set", "operator.authority.secretName=swarm-authority"]  # an operator with an authority
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
    everything = ["--set", "networkPolicy.enabled=true", "--set", "metrics.podMonitor.enabled=true",
                  "--set", "metrics.grafanaDashboard.enabled=true"]  # fmt: skip
    for extra in ([], ["-f", str(VALUES)], ["--set", "operator.scope=cluster"], everything, AUTHORITY):
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
        "operator.nodeImageCuda=a b",
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
    assert "Swarm authority" not in out.stdout
    out = run_helm(helm, "install", "rel", str(CHART), "--namespace", "demo", "--dry-run=client", *AUTHORITY)
    assert out.returncode == 0, out.stderr
    assert "certifies its LlamaNodes' pods with the key in Secret swarm-authority" in out.stdout


def test_every_value_is_commented() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    keys = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "-")) and ":" in stripped:
            keys += 1
            assert lines[i - 1].strip().startswith("#"), f"values.yaml line {i + 1} has no comment: {line}"
    assert keys > 20


# ---------------------------------------------------------------- least privilege, restricted pods


def test_no_role_grants_secrets_in_either_scope(helm: Path) -> None:
    for extra in ([], ["--set", "operator.scope=cluster"], ["-f", str(VALUES)], AUTHORITY):
        for doc in render(helm, *extra):
            if doc["kind"] in ("Role", "ClusterRole"):
                resources = {r for rule in doc["rules"] for r in rule["resources"]}
                assert "secrets" not in resources, (extra, doc["metadata"]["name"])
                assert "*" not in resources


def test_chart_pods_pass_pod_security_restricted(helm: Path) -> None:
    docs = render(helm, "-f", str(VALUES))
    (deploy,) = (d for d in docs if d["kind"] == "Deployment")
    (test_pod,) = (d for d in docs if d["kind"] == "Pod")
    operator_pod = deploy["spec"]["template"]["spec"]
    assert restricted_violations(operator_pod) == []
    # the operator keeps its service-account token (its API login); nothing else is missing
    assert hardening_gaps(operator_pod) == ["pod: the service-account token is mounted"]
    assert operator_pod["securityContext"]["runAsUser"] == 10001
    assert operator_pod["securityContext"]["runAsGroup"] == 10001
    assert restricted_violations(test_pod["spec"]) == [] and hardening_gaps(test_pod["spec"]) == []


def operator_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    (deploy,) = (d for d in docs if d["kind"] == "Deployment")
    return {e["name"]: e["value"] for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_policy_values_reach_the_operators_settings(helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(
        helm,
        "--set", "operator.policy.allowedImagePrefixes={mirror.example/llamanet/node:}",
        "--set", "operator.policy.allowedRuntimeClasses={nvidia}",
        "--set", "operator.policy.allowedEnvConfigMaps={tuning}",
        "--set", "operator.maxResponseBytes=2097152",
    )  # fmt: skip
    for name, value in operator_env(docs).items():
        monkeypatch.setenv(name, value)
    settings = OperatorSettings()
    assert settings.allowed_image_prefixes == ["mirror.example/llamanet/node:"]
    assert settings.allowed_runtime_classes == ["nvidia"] and settings.allowed_priority_classes == []
    assert settings.allowed_env_config_maps == ["tuning"]
    assert settings.max_response_bytes == 2097152


def test_cuda_image_value_reaches_the_operators_settings(helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty by default (the operator derives ``<nodeImage>-cuda``); a value is the CUDA image."""
    env = operator_env(render(helm, "--set", "operator.nodeImage=reg.example/llamanet/node:1.2"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = OperatorSettings()
    assert env["LLAMANET_OPERATOR_NODE_IMAGE_CUDA"] == "" and settings.node_image_cuda is None
    assert default_image(parse_spec(url_spec(resources={"gpus": 1})), settings) == (
        "reg.example/llamanet/node:1.2-cuda"
    )
    env = operator_env(render(helm, "--set", "operator.nodeImageCuda=gpu.example/node:13.0"))
    monkeypatch.setenv("LLAMANET_OPERATOR_NODE_IMAGE_CUDA", env["LLAMANET_OPERATOR_NODE_IMAGE_CUDA"])
    assert OperatorSettings().node_image_cuda == "gpu.example/node:13.0"


def test_exclude_namespaces_only_in_cluster_scope(helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "LLAMANET_OPERATOR_EXCLUDE_NAMESPACES" not in operator_env(
        render(helm, "--set", "operator.excludeNamespaces={team-a}")
    )
    env = operator_env(
        render(helm, "--set", "operator.scope=cluster", "--set", "operator.excludeNamespaces={team-a,team-b}")
    )
    monkeypatch.setenv("LLAMANET_OPERATOR_EXCLUDE_NAMESPACES", env["LLAMANET_OPERATOR_EXCLUDE_NAMESPACES"])
    assert OperatorSettings().exclude_namespaces == ["team-a", "team-b"]


def test_authority_values_reach_the_operators_settings(helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Secret is mounted into the operator pod only (no RBAC on Secrets), and its files are where
    the settings the chart passes say."""
    default = render(helm)
    assert not [k for k in operator_env(default) if "AUTHORITY" in k or "CERT" in k]
    root = "ab" * 32
    docs = render(helm, *AUTHORITY, "--set", f"operator.authority.roots={{{root}}}",
                  "--set", "operator.authority.certHours=6")  # fmt: skip
    for name, value in operator_env(docs).items():
        monkeypatch.setenv(name, value)
    settings = OperatorSettings()
    assert settings.authority_roots == [root] and settings.cert_hours == 6
    (deploy,) = (d for d in docs if d["kind"] == "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    (volume,) = (v for v in pod["volumes"] if v["name"] == "authority")
    assert volume["secret"] == {"secretName": "swarm-authority", "optional": True, "defaultMode": 0o440}
    (mount,) = (m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "authority")
    assert mount["readOnly"] and "subPath" not in mount  # the kubelet updates a renewed chain.json
    for path in (settings.authority_key_file, settings.authority_chain_file):
        assert path is not None and path.parent.as_posix() == mount["mountPath"]
    assert {settings.authority_key_file.name, settings.authority_chain_file.name} == {  # type: ignore[union-attr]
        "authority.key",
        "chain.json",
    }
    assert restricted_violations(pod) == []
    assert as_model(deploy, "V1Deployment") == deploy
    unset = operator_env(render(helm, *AUTHORITY))
    monkeypatch.setenv("LLAMANET_OPERATOR_AUTHORITY_ROOTS", unset["LLAMANET_OPERATOR_AUTHORITY_ROOTS"])
    monkeypatch.setenv("LLAMANET_OPERATOR_CERT_HOURS", unset["LLAMANET_OPERATOR_CERT_HOURS"])
    assert OperatorSettings().authority_roots == [] and OperatorSettings().cert_hours == 24


def as_model(doc: dict[str, Any], model: str) -> dict[str, Any]:
    """``doc`` through the Kubernetes client's model and back: a field the API does not know is lost."""
    api = ApiClient()
    obj = api._ApiClient__deserialize(doc, model)  # type: ignore[attr-defined]
    out: dict[str, Any] = api.sanitize_for_serialization(obj)
    return out


def test_network_policies_admit_only_http_and_the_dht(helm: Path) -> None:
    assert not [d for d in render(helm, "-f", str(VALUES)) if d["kind"] == "NetworkPolicy"]
    docs = render(
        helm, "-f", str(VALUES), "--set", "networkPolicy.enabled=true",
        "--set", "networkPolicy.dhtFrom[0].ipBlock.cidr=198.51.100.0/24",
    )  # fmt: skip
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    for policy in policies:
        assert as_model(policy, "V1NetworkPolicy") == policy  # every field is one the API knows
        assert policy["spec"]["policyTypes"] == ["Ingress"]
    nodes = [p for p in policies if p["metadata"]["name"].endswith("-nodes")]
    assert sorted(p["metadata"]["namespace"] for p in nodes) == ["demo", "other"]
    for policy in nodes:
        assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "llamanet-node"}}
        http, dht = policy["spec"]["ingress"]
        assert http == {"ports": [{"port": 8000, "protocol": "TCP"}]}  # any source, that port only
        assert dht["ports"] == [{"port": 8001, "protocol": "UDP"}]
        assert dht["from"] == [{"ipBlock": {"cidr": "198.51.100.0/24"}}]
    (operator,) = (p for p in policies if p["metadata"]["name"].endswith("-operator"))
    assert operator["spec"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert operator["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "operator"


def test_pod_monitor_and_dashboard_only_when_enabled(helm: Path) -> None:
    assert not [d for d in render(helm) if d["kind"] in ("PodMonitor", "ConfigMap")]
    docs = render(
        helm, "--set", "metrics.podMonitor.enabled=true", "--set", "metrics.podMonitor.labels.release=prom",
        "--set", "metrics.grafanaDashboard.enabled=true", "--set", "operator.watchNamespaces={demo,other}",
    )  # fmt: skip
    (monitor,) = (d for d in docs if d["kind"] == "PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "llamanet-node"}}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["demo", "other"]}
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    cluster = render(helm, "--set", "metrics.podMonitor.enabled=true", "--set", "operator.scope=cluster")
    (monitor,) = (d for d in cluster if d["kind"] == "PodMonitor")
    assert monitor["spec"]["namespaceSelector"] == {"any": True}
    (cm,) = (d for d in docs if d["kind"] == "ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["llamanet-node.json"]) == json.loads(DASHBOARD.read_text())


def test_dashboard_queries_only_metrics_the_node_exports() -> None:
    metrics = NodeMetrics(lambda: EngineStats(1, 0, 0, 0.0, 0, 0))
    metrics.observe_swarm({"m": ["a"]})
    metrics.requests.labels("/v1/models", "200").inc()  # labelled series show once they have a sample
    metrics.generations.labels("stop").inc()
    exported = {
        line.split("{")[0].split(" ")[0]
        for line in metrics.render().decode().splitlines()
        if line and not line.startswith("#")
    }
    dashboard = json.loads(DASHBOARD.read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bllamanet_[a-z_]+", target["expr"])
    }
    assert len(used) >= 10 and used <= exported, used - exported
    assert "llamanet_queue_depth" in used and len({p["id"] for p in dashboard["panels"]}) == len(
        dashboard["panels"]
    )


@pytest.mark.parametrize(
    "bad",
    [
        "networkPolicy.enabled=maybe",
        "networkPolicy.httpFrom[0].pods=x",
        "metrics.podMonitor.interval=often",
        "metrics.unknown=1",
        "operator.policy.allowedImages={x}",
        "operator.excludeNamespaces={Bad_NS}",
        "operator.maxResponseBytes=10",
        "operator.authority.certHours=0",
        "operator.authority.roots={not-a-key}",
        "operator.authority.secretName=Bad_Name",
        "operator.authority.key=x",
    ],
)
def test_schema_rejects_bad_new_values(helm: Path, bad: str) -> None:
    out = run_helm(helm, "template", "rel", str(CHART), "--set", bad)
    assert out.returncode != 0, bad
    assert "schema" in out.stderr.lower() or "values don't meet" in out.stderr.lower(), out.stderr
