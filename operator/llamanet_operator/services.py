"""The LlamaNode's Services and PodDisruptionBudget (pure)."""

from __future__ import annotations

from typing import Any

from llamanet_operator.names import (
    DHT_PORT,
    HTTP_PORT,
    Owner,
    dht_service_name,
    headless_name,
    metadata,
    selector_labels,
)
from llamanet_operator.spec import LlamaNodeSpec


def _port(name: str, port: int, protocol: str, node_port: int | None = None) -> dict[str, Any]:
    """A Service port targeting the container port of the same name; a fixed nodePort when given."""
    out: dict[str, Any] = {"name": name, "port": port, "targetPort": name, "protocol": protocol}
    if node_port is not None:
        out["nodePort"] = node_port
    return out


def _service(owner: Owner, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, name),
        "spec": {"selector": selector_labels(owner), **spec},
    }


def headless_service(owner: Owner) -> dict[str, Any]:
    """Stable per-pod DNS names (``<pod>.<name>-peers``) for the DHT bootstrap and the operator.

    Not-ready pods are published too: peers must find each other while their models still load.
    """
    return _service(
        owner,
        headless_name(owner),
        {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "ports": [_port("http", HTTP_PORT, "TCP"), _port("dht", DHT_PORT, "UDP")],
        },
    )


def client_service(owner: Owner, spec: LlamaNodeSpec) -> dict[str, Any]:
    """The OpenAI-compatible endpoint in the cluster: ``http://<name>.<ns>.svc:<port>/v1``."""
    port = _port("http", spec.service.port, "TCP", spec.service.node_port)
    return _service(owner, owner.name, {"type": spec.service.type, "ports": [port]})


def dht_service(owner: Owner, spec: LlamaNodeSpec) -> dict[str, Any]:
    """The DHT (UDP) reachable from outside the cluster, for peers at other sites."""
    port = _port("dht", DHT_PORT, "UDP", spec.swarm.dht_node_port)
    return _service(owner, dht_service_name(owner), {"type": spec.swarm.dht_service_type, "ports": [port]})


def pod_disruption_budget(owner: Owner, spec: LlamaNodeSpec) -> dict[str, Any] | None:
    """At most one replica voluntarily down at a time; none for a single replica (it would block drains)."""
    if spec.replicas <= 1:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(owner, owner.name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(owner)}},
    }
