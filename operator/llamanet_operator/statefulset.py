"""The LlamaNode's StatefulSet (pure).

Storage: every replica gets a PersistentVolumeClaim ``data`` (a volumeClaimTemplate) at ``/data``
holding the model cache (``/data/models``, filled by the init container's ``llamanet models pull``,
which resumes and verifies the sha256) and the node key (``/data/node.key``): a restarted or
rescheduled pod keeps its DHT identity and does not download the model again. With
``model.source.pvc`` the given claim is mounted read-only at ``/models`` and ``data`` only holds the
key (64Mi unless ``storage.size`` says otherwise).

Pods pass Pod Security "restricted" (``podsecurity``): uid/gid 10001, ``fsGroup`` (root-owned volumes
become writable), RuntimeDefault seccomp, no capabilities, read-only root with an emptyDir at ``/tmp``
(the only other path anything writes), no service-account token.

With the operator's swarm authority (``authority.pod_roots``) the node container trusts its roots
(``SWARM_AUTHORITY``) and mounts the ConfigMap ``<name>-certs`` whole at ``/etc/llamanet/certs``, reading
its own entry (``SWARM_CERT_FILE``) every heartbeat: renewals arrive without a restart.

Rolling updates replace one pod at a time and wait for it to be ready (``minReadySeconds``). A pod
being replaced first sleeps ``PRE_STOP_SECONDS`` in ``preStop`` while the endpoints drop it (it is no
longer ready for the Services once terminating), then gets SIGTERM: the node stops accepting
connections (its probes fail) and finishes in-flight requests within ``DRAIN_SECONDS`` (the node's
``timeout_graceful_shutdown``); the grace period covers both.
"""

from __future__ import annotations

from typing import Any

from llamanet_operator.names import (
    DHT_PORT,
    GPU_RESOURCE,
    HTTP_PORT,
    Owner,
    advertise_config_name,
    certs_config_name,
    headless_name,
    metadata,
    selector_labels,
)
from llamanet_operator.podenv import (
    ADVERTISE_DIR,
    API_KEY_DIR,
    CERTS_DIR,
    DATA_DIR,
    MODELS_DIR,
    PVC_MODELS_DIR,
    SWARM_SECRET_DIR,
    container_env,
)
from llamanet_operator.podsecurity import container_security_context, pod_security_context
from llamanet_operator.spec import LlamaNodeSpec

URL_MODEL_STORAGE = "10Gi"
KEY_ONLY_STORAGE = "64Mi"
TMP_DIR = "/tmp"
TMP_SIZE = "256Mi"
PRE_STOP_SECONDS = 5
DRAIN_SECONDS = 30  # node/llamanet/server.py: uvicorn's timeout_graceful_shutdown
GRACE_SECONDS = PRE_STOP_SECONDS + DRAIN_SECONDS + 10
MIN_READY_SECONDS = 10


def pull_command(spec: LlamaNodeSpec) -> list[str]:
    """The init container's command: pull the model into the replica's cache (no-op when cached)."""
    source = spec.model.source
    assert source.url is not None and source.sha256 is not None
    return [
        "llamanet", "models", "--models-dir", MODELS_DIR,
        "pull", source.url, "--sha256", source.sha256.lower(), "--name", spec.model.name,
    ]  # fmt: skip


def container_resources(spec: LlamaNodeSpec) -> dict[str, Any]:
    requests = {k: str(v) for k, v in spec.resources.requests.items()}
    limits = {k: str(v) for k, v in spec.resources.limits.items()}
    if spec.resources.gpus > 0:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(spec.resources.gpus)
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": "/health", "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def _volumes(
    owner: Owner, spec: LlamaNodeSpec, certified: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, node container mounts); ``data`` comes from the claim template."""
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}]
    mounts: list[dict[str, Any]] = [
        {"name": "data", "mountPath": DATA_DIR},
        {"name": "tmp", "mountPath": TMP_DIR},
    ]
    pvc = spec.model.source.pvc
    if pvc is not None:
        volumes.append(
            {"name": "models", "persistentVolumeClaim": {"claimName": pvc.claim_name, "readOnly": True}}
        )
        mounts.append({"name": "models", "mountPath": PVC_MODELS_DIR, "readOnly": True})
    for vol, ref, path, file in (
        ("swarm-secret", spec.swarm.secret_ref, SWARM_SECRET_DIR, "secret"),
        ("api-key", spec.api_key_secret_ref, API_KEY_DIR, "key"),
    ):
        if ref is not None:
            items = [{"key": ref.key, "path": file}]
            volumes.append({"name": vol, "secret": {"secretName": ref.name, "items": items}})
            mounts.append({"name": vol, "mountPath": path, "readOnly": True})
    if spec.swarm.pod_services is not None:
        # the whole map, not a subPath: the kubelet updates a mounted ConfigMap's files (optional: the
        # pods may start before the operator has published it)
        config = {"name": advertise_config_name(owner), "optional": True}
        volumes.append({"name": "advertise", "configMap": config})
        mounts.append({"name": "advertise", "mountPath": ADVERTISE_DIR, "readOnly": True})
    if certified:  # the same way: certificates are renewed in place (public: a ConfigMap)
        config = {"name": certs_config_name(owner), "optional": True}
        volumes.append({"name": "certs", "configMap": config})
        mounts.append({"name": "certs", "mountPath": CERTS_DIR, "readOnly": True})
    return volumes, mounts


def node_container(
    owner: Owner,
    spec: LlamaNodeSpec,
    image: str,
    mounts: list[dict[str, Any]],
    roots: frozenset[str] | None = None,
) -> dict[str, Any]:
    return {
        "name": "node",
        "image": image,
        "imagePullPolicy": spec.image_pull_policy,
        "args": ["llamanet", "node"],
        "env": container_env(owner, spec, roots),
        "ports": [
            {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
            {"name": "dht", "containerPort": DHT_PORT, "protocol": "UDP"},
        ],
        "resources": container_resources(spec),
        "volumeMounts": mounts,
        # loading a large model takes a while: up to 30 min before liveness applies
        "startupProbe": _probe(10, 180),
        "readinessProbe": _probe(10, 3),
        "livenessProbe": _probe(20, 6),
        # the endpoints drop a terminating pod; the sleep lets that reach every kube-proxy (and the
        # swarm's routers see the node busy) before SIGTERM starts the node's drain
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "securityContext": container_security_context(),
    }


def init_container(spec: LlamaNodeSpec, image: str) -> dict[str, Any]:
    return {
        "name": "pull-model",
        "image": image,
        "imagePullPolicy": spec.image_pull_policy,
        "args": pull_command(spec),
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}, {"name": "tmp", "mountPath": TMP_DIR}],
        # the pull's error (e.g. a sha256 mismatch) becomes the container's termination message,
        # which the operator turns into a condition and an Event
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security_context(),
    }


def claim_template(spec: LlamaNodeSpec) -> dict[str, Any]:
    default = KEY_ONLY_STORAGE if spec.model.source.pvc is not None else URL_MODEL_STORAGE
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": spec.storage.size or default}},
    }
    if spec.storage.storage_class_name:
        claim["storageClassName"] = spec.storage.storage_class_name
    return {"metadata": {"name": "data"}, "spec": claim}


def build_statefulset(
    owner: Owner, spec: LlamaNodeSpec, default_image: str, roots: frozenset[str] | None = None
) -> dict[str, Any]:
    """``roots``: the swarm authority keys the pods trust (``authority.pod_roots``); with them the pods
    mount their certificates (ConfigMap ``<name>-certs``, ``SWARM_CERT_FILE``)."""
    image = spec.image or default_image
    volumes, mounts = _volumes(owner, spec, bool(roots))
    pod: dict[str, Any] = {
        "containers": [node_container(owner, spec, image, mounts, roots)],
        "volumes": volumes,
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": GRACE_SECONDS,
    }
    if spec.model.source.url is not None:
        pod["initContainers"] = [init_container(spec, image)]
    optional = {
        "nodeSelector": spec.node_selector or None,
        "tolerations": spec.tolerations or None,
        "affinity": spec.affinity,
        "priorityClassName": spec.priority_class_name,
        "runtimeClassName": spec.runtime_class_name,
    }
    pod.update({k: v for k, v in optional.items() if v is not None})
    meta = metadata(owner, owner.name)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta,
        "spec": {
            "replicas": spec.replicas,
            "serviceName": headless_name(owner),
            "podManagementPolicy": "Parallel",
            # one pod at a time (podManagementPolicy only affects scaling), the next once it is ready
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "minReadySeconds": MIN_READY_SECONDS,
            "selector": {"matchLabels": selector_labels(owner)},
            "template": {"metadata": {"labels": dict(meta["labels"])}, "spec": pod},
            "volumeClaimTemplates": [claim_template(spec)],
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
        },
    }
