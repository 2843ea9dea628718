"""The node container's environment: ``llamanet node`` settings (README's variables) from a spec."""

from __future__ import annotations

from typing import Any

from llamanet_operator.names import DHT_PORT, HTTP_PORT, Owner, bootstrap_nodes, headless_domain
from llamanet_operator.spec import LlamaNodeSpec

DATA_DIR = "/data"
MODELS_DIR = f"{DATA_DIR}/models"
PVC_MODELS_DIR = "/models"
NODE_KEY_FILE = f"{DATA_DIR}/node.key"
SWARM_SECRET_DIR = "/etc/llamanet/swarm"
API_KEY_DIR = "/etc/llamanet/api"
ADVERTISE_DIR = "/etc/llamanet/advertise"  # the <name>-advertise ConfigMap: one file per pod name
CERTS_DIR = "/etc/llamanet/certs"  # the <name>-certs ConfigMap: one certificate chain per pod name


def model_path(spec: LlamaNodeSpec) -> str:
    pvc = spec.model.source.pvc
    return f"{PVC_MODELS_DIR}/{pvc.path}" if pvc is not None else spec.model.name


def managed_env(owner: Owner, spec: LlamaNodeSpec, roots: frozenset[str] | None = None) -> dict[str, str]:
    """Plain variables the operator sets; POD_NAME/POD_NAMESPACE come from the downward API first.
    ``roots``: the swarm authority keys the pods trust (``authority.pod_roots``), None for none."""
    swarm = spec.swarm
    env = {
        "HOST": "0.0.0.0",
        "PORT": str(HTTP_PORT),
        "DHT_PORT": str(DHT_PORT),
        "NODE_ID": "$(POD_NAME)",
        "MODELS_DIR": MODELS_DIR,
        "MODEL_PATH": model_path(spec),
        "MODEL_NAME": spec.model.name,
        "NODE_KEY_FILE": NODE_KEY_FILE,
        "ADVERTISE_HOST": f"$(POD_NAME).{headless_domain(owner)}",
        "BOOTSTRAP_NODES": ",".join(bootstrap_nodes(owner, spec)),
        "N_CTX": str(spec.engine.context_size),
        "N_BATCH": str(spec.engine.batch_size),
        "N_GPU_LAYERS": str(spec.gpu_layers),
    }
    dht_port = swarm.advertise_dht_port
    if dht_port is None and swarm.advertise_host and swarm.dht_service_type == "NodePort":
        dht_port = swarm.dht_node_port
    per_pod = swarm.pod_services is not None
    if not per_pod and swarm.advertise_host:
        env["ADVERTISE_HOST"] = swarm.advertise_host
    optional = {
        # per pod: its own Service's address once the operator has published it, its in-cluster
        # name until then (unique either way)
        "ADVERTISE_FILE": f"{ADVERTISE_DIR}/$(POD_NAME)" if per_pod else None,
        "ADVERTISE_DHT_PORT": None if per_pod else dht_port,
        "ADVERTISE_URLS": ",".join(swarm.advertise_urls) or None,
        "SWARM_SECRET_FILE": f"{SWARM_SECRET_DIR}/secret" if swarm.secret_ref else None,
        "API_KEY_FILE": f"{API_KEY_DIR}/key" if spec.api_key_secret_ref else None,
        "SITE": spec.site,
        "ROUTE_SITES": ",".join(spec.routing.allowed_sites) or None,
        "N_THREADS": spec.engine.threads,
        "N_PARALLEL": spec.engine.parallel,
        "CHAT_FORMAT": spec.engine.chat_format,
        "EMBEDDINGS": "true" if spec.engine.embeddings else None,
        # with an authority: trust only its members; this pod's own chain, published by the operator
        # (missing until it has read the pod's key: the node starts uncertified and re-reads the file)
        "SWARM_AUTHORITY": ",".join(sorted(roots)) if roots else None,
        "SWARM_CERT_FILE": f"{CERTS_DIR}/$(POD_NAME)" if roots else None,
    }
    env.update({k: str(v) for k, v in optional.items() if v is not None})
    return env


def container_env(
    owner: Owner, spec: LlamaNodeSpec, roots: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """The env list: downward API, managed variables, then the spec's extras (which win by name)."""
    extra_names = {e.get("name") for e in spec.env}
    env: list[dict[str, Any]] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    managed = managed_env(owner, spec, roots)
    env += [{"name": k, "value": v} for k, v in managed.items() if k not in extra_names]
    return env + [dict(e) for e in spec.env]
