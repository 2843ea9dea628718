"""The CRD's schema: example specs validated against openAPIV3Schema, defaults, CEL rules, subresources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from llamanet_operator.spec import parse_spec
from tests.unit.operator.conftest import SHA, pvc_spec, url_spec

CRD_PATH = Path(__file__).resolve().parents[3] / "crds" / "llamanode.yaml"


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return data


@pytest.fixture(scope="module")
def version(crd: dict[str, Any]) -> dict[str, Any]:
    (v,) = crd["spec"]["versions"]
    return dict(v)


def validate(version: dict[str, Any], spec: dict[str, Any]) -> None:
    schema = version["schema"]["openAPIV3Schema"]
    jsonschema.validate(
        {"apiVersion": "llamanet.io/v1alpha1", "kind": "LlamaNode", "metadata": {}, "spec": spec}, schema
    )


def test_identity_and_subresources(crd: dict[str, Any], version: dict[str, Any]) -> None:
    assert crd["metadata"]["name"] == "llamanodes.llamanet.io"
    assert crd["spec"]["names"]["kind"] == "LlamaNode" and "ln" in crd["spec"]["names"]["shortNames"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"]["status"] == {}
    assert version["subresources"]["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }
    columns = {c["name"] for c in version["additionalPrinterColumns"]}
    assert {"Model", "Replicas", "Ready", "Peers", "Queue", "Endpoint", "Age"} <= columns
    paths = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert paths["Ready"] == ".status.ready" and paths["Queue"] == ".status.queueDepth"
    assert paths["Certs"] == ".status.certificates"
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert status["certificates"]["type"] == "string"  # "2/2": without it the API server drops it


@pytest.mark.parametrize(
    "spec",
    [
        url_spec(),
        pvc_spec(),
        url_spec(
            replicas=2,
            swarm={
                "advertiseHost": "203.0.113.10",
                "podServices": {"type": "NodePort", "dhtNodePortBase": 30800, "httpNodePortBase": 30900},
            },
        ),
        url_spec(swarm={"podServices": {"type": "LoadBalancer"}}),
        url_spec(swarm={"authority": {"enabled": False}}),
        url_spec(swarm={"authority": {"roots": ["ab" * 32, "CD" * 32]}}),
        url_spec(
            replicas=3,
            resources={"gpus": 1, "requests": {"cpu": 2, "memory": "8Gi"}},
            engine={
                "contextSize": 4096,
                "gpuLayers": -1,
                "parallel": 4,
                "chatFormat": "chatml",
                "embeddings": True,
            },
            swarm={
                "bootstrapPeers": ["b.example.org:30801", "[::1]:8001"],
                "advertiseHost": "a.example.org",
                "dhtNodePort": 30801,
                "secretRef": {"name": "swarm"},
            },
            apiKeySecretRef={"name": "api"},
            service={"type": "LoadBalancer", "port": 80},
            env=[{"name": "MAX_QUEUE", "value": "8"}],
            site="lab",
            autoscaling={
                "minReplicas": 1,
                "maxReplicas": 4,
                "targetQueuePerReplica": 3,
                "scaleDownDelaySeconds": 60,
            },
        ),
    ],
)
def test_good_specs_pass_the_schema_and_the_operator(version: dict[str, Any], spec: dict[str, Any]) -> None:
    validate(version, spec)
    parse_spec(spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"model": {"name": "m", "source": {"url": "https://x/m", "sha256": "12345"}}},
        {"model": {"name": "m", "source": {"url": "ftp://x/m", "sha256": SHA}}},
        url_spec(replicas=-1),
        url_spec(resources={"gpus": -1}),
        url_spec(imagePullPolicy="Sometimes"),
        url_spec(swarm={"dhtServiceType": "ClusterIP"}),
        url_spec(swarm={"dhtNodePort": 80}),
        url_spec(swarm={"bootstrapPeers": ["no-port"]}),
        url_spec(swarm={"podServices": {"type": "ClusterIP"}}),
        url_spec(swarm={"podServices": {"dhtNodePortBase": 8001}}),
        url_spec(engine={"contextSize": 8}),
        url_spec(swarm={"authority": {"roots": ["not-a-key"]}}),
        url_spec(swarm={"authority": {"enabled": "yes"}}),
        url_spec(swarm={"authority": {"roots": ["ab" * 32] * 17}}),
        url_spec(engine={"embeddings": "yes"}),
        url_spec(autoscaling={"minReplicas": 1}),
        url_spec(autoscaling={"maxReplicas": 0}),
        url_spec(autoscaling={"maxReplicas": 2, "targetQueuePerReplica": 0}),
        {"replicas": 1},
    ],
)
def test_bad_specs_fail_the_schema(version: dict[str, Any], spec: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate(version, spec)


def test_defaults_present_and_equal_to_the_operators(version: dict[str, Any]) -> None:
    props = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert props["replicas"]["default"] == 1
    assert props["imagePullPolicy"]["default"] == "IfNotPresent"
    assert props["engine"]["properties"]["contextSize"]["default"] == 2048
    assert props["engine"]["properties"]["batchSize"]["default"] == 512
    assert props["engine"]["properties"]["embeddings"]["default"] is False
    assert props["service"]["properties"]["port"]["default"] == 8000
    assert props["service"]["properties"]["type"]["default"] == "ClusterIP"
    assert props["swarm"]["properties"]["dhtServiceType"]["default"] == "NodePort"
    assert props["resources"]["properties"]["gpus"]["default"] == 0
    assert props["swarm"]["properties"]["authority"]["properties"]["enabled"]["default"] is True
    spec = parse_spec(url_spec())
    assert (spec.replicas, spec.engine.context_size, spec.service.port) == (1, 2048, 8000)
    assert spec.engine.embeddings is False


def test_cel_rules_present(version: dict[str, Any]) -> None:
    props = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    source_rules = [r["rule"] for r in props["model"]["properties"]["source"]["x-kubernetes-validations"]]
    assert "has(self.url) != has(self.pvc)" in source_rules
    assert "!has(self.url) || has(self.sha256)" in source_rules
    swarm_rules = [r["rule"] for r in props["swarm"]["x-kubernetes-validations"]]
    assert any("dhtNodePort" in r for r in swarm_rules)
    # per-pod addresses: no shared ones beside them; NodePort needs the site's host
    assert any(r.startswith("!has(self.podServices) || !has(self.dhtNodePort)") for r in swarm_rules)
    assert any("has(self.advertiseHost)" in r for r in swarm_rules)
    pods = props["swarm"]["properties"]["podServices"]["properties"]
    assert pods["type"]["default"] == "NodePort" and pods["type"]["enum"] == ["NodePort", "LoadBalancer"]
    auto_rules = [r["rule"] for r in props["autoscaling"]["x-kubernetes-validations"]]
    assert "!has(self.minReplicas) || self.minReplicas <= self.maxReplicas" in auto_rules
    auto = props["autoscaling"]["properties"]
    assert (auto["minReplicas"]["default"], auto["targetQueuePerReplica"]["default"]) == (1, 2)
    assert auto["scaleDownDelaySeconds"]["default"] == 300


# The keywords a structural schema may use (apiextensions.k8s.io/v1 JSONSchemaProps); anything else,
# such as a flow-mapping description split at a comma into a stray key, the API server rejects.
SCHEMA_KEYWORDS = {
    "type", "description", "properties", "items", "default", "enum", "minimum", "maximum", "minLength",
    "maxLength", "pattern", "required", "format", "nullable", "additionalProperties", "maxItems", "minItems",
    "maxProperties", "minProperties", "anyOf", "oneOf", "allOf", "not", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "uniqueItems", "title", "example", "x-kubernetes-validations",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-embedded-resource",
}  # fmt: skip


def test_schema_uses_only_structural_schema_keywords(version: dict[str, Any]) -> None:
    stray: list[str] = []

    def walk(node: dict[str, Any], where: str) -> None:
        for key, value in node.items():
            if key == "properties":
                for name, sub in value.items():
                    walk(sub, f"{where}.{name}")
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                walk(value, f"{where}[]")
            elif key not in SCHEMA_KEYWORDS:
                stray.append(f"{where}: {key!r}")

    walk(version["schema"]["openAPIV3Schema"], "")
    assert not stray, stray
