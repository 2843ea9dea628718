"""Names, labels, DNS names and references of a LlamaNode's children, ports, the GPU resource (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamanet_common.version import __version__
from llamanet_operator.spec import LlamaNodeSpec

GROUP = "llamanet.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "LlamaNode"
PLURAL = "llamanodes"

HTTP_PORT = 8000
DHT_PORT = 8001
# the extended resource a GPU is requested as (NVIDIA's device plugin) and read from nodes' allocatable
GPU_RESOURCE = "nvidia.com/gpu"
# pods 0..SEED_PODS-1 are every replica's in-cluster bootstrap peers: a fixed list, so scaling does
# not change the pod template (and restart every pod); names of pods that do not exist do not resolve
# and are skipped by the node
SEED_PODS = 3


@dataclass(frozen=True)
class Owner:
    """The LlamaNode a child belongs to."""

    name: str
    namespace: str
    uid: str
    cluster_domain: str = "cluster.local"

    @classmethod
    def from_body(cls, body: dict[str, Any], cluster_domain: str = "cluster.local") -> Owner:
        meta = body["metadata"]
        return cls(meta["name"], meta["namespace"], meta["uid"], cluster_domain)


def owner_reference(owner: Owner) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def selector_labels(owner: Owner) -> dict[str, str]:
    return {"app.kubernetes.io/name": "llamanet-node", "app.kubernetes.io/instance": owner.name}


def selector_string(owner: Owner) -> str:
    return ",".join(f"{k}={v}" for k, v in selector_labels(owner).items())


def labels(owner: Owner) -> dict[str, str]:
    return {
        **selector_labels(owner),
        "app.kubernetes.io/version": __version__,
        "app.kubernetes.io/component": "node",
        "app.kubernetes.io/part-of": "llamanet",
        "app.kubernetes.io/managed-by": "llamanet-operator",
    }


def metadata(owner: Owner, name: str) -> dict[str, Any]:
    """Metadata of a child: namespaced, labelled, owned (so deleting the LlamaNode deletes it)."""
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": labels(owner),
        "ownerReferences": [owner_reference(owner)],
    }


def headless_name(owner: Owner) -> str:
    return f"{owner.name}-peers"


def dht_service_name(owner: Owner) -> str:
    return f"{owner.name}-dht"


# the label carrying a per-pod Service's replica ordinal (podservices), and the pods' own name label
ORDINAL_LABEL = "llamanet.io/ordinal"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"


def pod_name(owner: Owner, ordinal: int) -> str:
    return f"{owner.name}-{ordinal}"


def pod_service_name(owner: Owner, ordinal: int) -> str:
    """The per-pod external Service of replica ``ordinal``."""
    return f"{owner.name}-ext-{ordinal}"


def advertise_config_name(owner: Owner) -> str:
    """The ConfigMap of every pod's own external address (one key per pod name)."""
    return f"{owner.name}-advertise"


def certs_config_name(owner: Owner) -> str:
    """The ConfigMap of every pod's membership certificate chain (one key per pod name)."""
    return f"{owner.name}-certs"


def headless_domain(owner: Owner) -> str:
    return f"{headless_name(owner)}.{owner.namespace}.svc.{owner.cluster_domain}"


def pod_dns_name(owner: Owner, ordinal: int) -> str:
    return f"{pod_name(owner, ordinal)}.{headless_domain(owner)}"


def bootstrap_nodes(owner: Owner, spec: LlamaNodeSpec) -> list[str]:
    """The seed pods' stable DNS names (never Kubernetes endpoints), then the spec's outside peers."""
    seeds = [f"{pod_dns_name(owner, i)}:{DHT_PORT}" for i in range(SEED_PODS)]
    return seeds + [p for p in spec.swarm.bootstrap_peers if p not in seeds]


def endpoint_url(owner: Owner, spec: LlamaNodeSpec) -> str:
    """The in-cluster OpenAI endpoint (the client Service)."""
    return f"http://{owner.name}.{owner.namespace}.svc:{spec.service.port}/v1"
