from __future__ import annotations

from pathlib import Path
from typing import Any

from llamanet_operator.names import Owner, bootstrap_nodes
from llamanet_operator.podsecurity import hardening_gaps, restricted_violations
from llamanet_operator.spec import parse_spec
from llamanet_operator.statefulset import build_statefulset
from tests.unit.operator.conftest import SHA, pvc_spec, url_spec

IMAGE = "llamanet/node:test"


def env_of(sts: dict[str, Any]) -> dict[str, Any]:
    container = sts["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_url_model_pulls_in_an_init_container_into_the_replica_volume(owner: Owner) -> None:
    sts = build_statefulset(owner, parse_spec(url_spec()), IMAGE)
    pod = sts["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    assert init["args"] == [
        "llamanet",
        "models",
        "--models-dir",
        "/data/models",
        "pull",
        "https://example.org/m.gguf",
        "--sha256",
        SHA,
        "--name",
        "smollm2-135m",
    ]
    assert init["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert init["volumeMounts"] == [
        {"name": "data", "mountPath": "/data"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    env = env_of(sts)
    assert env["MODEL_PATH"] == "smollm2-135m" and env["MODELS_DIR"] == "/data/models"
    assert env["NODE_KEY_FILE"] == "/data/node.key"
    assert pod["containers"][0]["image"] == IMAGE
    assert pod["containers"][0]["args"] == ["llamanet", "node"]


def test_pvc_model_is_mounted_read_only_without_init_container(owner: Owner) -> None:
    sts = build_statefulset(owner, parse_spec(pvc_spec()), IMAGE)
    pod = sts["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    assert {"name": "models", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}} in pod[
        "volumes"
    ]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in mounts
    assert env_of(sts)["MODEL_PATH"] == "/models/g/g.gguf"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "64Mi"


def test_gpus_become_requests_limits_and_layers(owner: Owner) -> None:
    spec = parse_spec(url_spec(resources={"gpus": 2, "requests": {"memory": "4Gi"}}))
    container = build_statefulset(owner, spec, IMAGE)["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"memory": "4Gi", "nvidia.com/gpu": "2"}
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "2"}
    assert env_of({"spec": {"template": {"spec": {"containers": [container]}}}})["N_GPU_LAYERS"] == "-1"
    cpu = build_statefulset(owner, parse_spec(url_spec()), IMAGE)["spec"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in str(cpu["resources"])


def test_swarm_env_uses_stable_dns_names(owner: Owner) -> None:
    spec = parse_spec(url_spec(swarm={"bootstrapPeers": ["b.example.org:8001"]}, site="lab"))
    env = env_of(build_statefulset(owner, spec, IMAGE))
    assert env["ADVERTISE_HOST"] == "$(POD_NAME).smollm-peers.demo.svc.cluster.local"
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["BOOTSTRAP_NODES"].split(",") == [
        "smollm-0.smollm-peers.demo.svc.cluster.local:8001",
        "smollm-1.smollm-peers.demo.svc.cluster.local:8001",
        "smollm-2.smollm-peers.demo.svc.cluster.local:8001",
        "b.example.org:8001",
    ]
    assert env["SITE"] == "lab"
    assert "ROUTE_SITES" not in env  # no residency rule: any site


def test_allowed_sites_become_the_nodes_route_sites(owner: Owner) -> None:
    spec = parse_spec(url_spec(site="lab", routing={"allowedSites": ["lab", "clinic-2"]}))
    assert env_of(build_statefulset(owner, spec, IMAGE))["ROUTE_SITES"] == "lab,clinic-2"


def test_bootstrap_list_does_not_depend_on_replicas(owner: Owner) -> None:
    # scaling must not change the pod template (which would restart every replica)
    one, five = parse_spec(url_spec(replicas=1)), parse_spec(url_spec(replicas=5))
    assert bootstrap_nodes(owner, one) == bootstrap_nodes(owner, five)
    a, b = build_statefulset(owner, one, IMAGE), build_statefulset(owner, five, IMAGE)
    assert a["spec"]["template"] == b["spec"]["template"]


def test_advertise_overrides_for_other_sites(owner: Owner) -> None:
    spec = parse_spec(
        url_spec(
            swarm={
                "advertiseHost": "a.example.org",
                "dhtNodePort": 30801,
                "advertiseUrls": ["http://a.example.org:30800"],
            }
        )
    )
    env = env_of(build_statefulset(owner, spec, IMAGE))
    assert env["ADVERTISE_HOST"] == "a.example.org"
    assert env["ADVERTISE_DHT_PORT"] == "30801"
    assert env["ADVERTISE_URLS"] == "http://a.example.org:30800"


def test_engine_embeddings_sets_embeddings_true_and_is_off_by_default(owner: Owner) -> None:
    assert "EMBEDDINGS" not in env_of(build_statefulset(owner, parse_spec(url_spec()), IMAGE))
    spec = parse_spec(url_spec(engine={"embeddings": True}))
    assert env_of(build_statefulset(owner, spec, IMAGE))["EMBEDDINGS"] == "true"


def test_secrets_are_mounted_as_files_and_engine_env_set(owner: Owner) -> None:
    spec = parse_spec(
        url_spec(
            swarm={"secretRef": {"name": "swarm", "key": "s"}},
            apiKeySecretRef={"name": "api", "key": "k"},
            engine={"contextSize": 4096, "threads": 3, "parallel": 4, "chatFormat": "chatml"},
            env=[{"name": "N_CTX", "value": "1024"}, {"name": "EXTRA", "value": "1"}],
        )
    )
    sts = build_statefulset(owner, spec, IMAGE)
    env = env_of(sts)
    assert env["SWARM_SECRET_FILE"] == "/etc/llamanet/swarm/secret"
    assert env["API_KEY_FILE"] == "/etc/llamanet/api/key"
    assert (env["N_THREADS"], env["N_PARALLEL"], env["CHAT_FORMAT"]) == ("3", "4", "chatml")
    assert env["N_CTX"] == "1024" and env["EXTRA"] == "1"  # extras win by name
    vols = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert vols["swarm-secret"]["secret"] == {
        "secretName": "swarm",
        "items": [{"key": "s", "path": "secret"}],
    }
    assert vols["api-key"]["secret"]["secretName"] == "api"


def test_owner_reference_labels_probes_and_scheduling(owner: Owner) -> None:
    spec = parse_spec(
        url_spec(
            nodeSelector={"gpu": "yes"},
            tolerations=[{"key": "gpu", "operator": "Exists"}],
            priorityClassName="high",
            runtimeClassName="nvidia",
        )
    )
    sts = build_statefulset(owner, spec, IMAGE)
    ref = sts["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "LlamaNode" and ref["uid"] == "uid-1" and ref["controller"] is True
    assert sts["spec"]["serviceName"] == "smollm-peers"
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pod = sts["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"gpu": "yes"} and pod["runtimeClassName"] == "nvidia"
    assert pod["priorityClassName"] == "high" and pod["tolerations"][0]["key"] == "gpu"
    container = pod["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}


def _pods(owner: Owner) -> list[dict[str, Any]]:
    specs = [
        url_spec(),
        pvc_spec(),
        url_spec(swarm={"secretRef": {"name": "s"}}, apiKeySecretRef={"name": "a"}, resources={"gpus": 1}),
    ]
    return [build_statefulset(owner, parse_spec(s), IMAGE)["spec"]["template"]["spec"] for s in specs]


def test_pods_pass_pod_security_restricted(owner: Owner) -> None:
    for pod in _pods(owner):
        assert restricted_violations(pod) == []
        assert hardening_gaps(pod) == []


def test_pod_security_fields(owner: Owner) -> None:
    pod = _pods(owner)[0]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False
    for container in pod["initContainers"] + pod["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"] is True
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]


def test_the_node_image_user_is_the_pods_user() -> None:
    dockerfile = (Path(__file__).resolve().parents[3] / "images" / "node.Dockerfile").read_text()
    assert "--uid 10001 --user-group" in dockerfile and "USER llamanet" in dockerfile


def test_rolling_update_waits_for_readiness_and_pods_drain(owner: Owner) -> None:
    sts = build_statefulset(owner, parse_spec(url_spec(replicas=3)), IMAGE)
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["spec"]["minReadySeconds"] > 0
    pod = sts["spec"]["template"]["spec"]
    node = pod["containers"][0]
    pre_stop = node["lifecycle"]["preStop"]["sleep"]["seconds"]
    # preStop, then the node's 30 s graceful shutdown (server.py), must fit in the grace period
    assert pod["terminationGracePeriodSeconds"] > pre_stop + 30
    assert node["readinessProbe"]["httpGet"]["path"] == "/health"
