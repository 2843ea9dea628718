"""Per-pod external addresses (``swarm.podServices``), pure: the Services and the published address map.

Every replica gets its own Service ``<name>-ext-<i>`` (selected by the StatefulSet's
``statefulset.kubernetes.io/pod-name`` label; NodePort or LoadBalancer), carrying the DHT (UDP 8001)
and HTTP (TCP 8000) ports, so no two pods share an advertised address and a peer's datagrams always
reach the one pod whose identity it expects. Kubernetes assigns the NodePorts unless the spec fixes a
base (pod ``i`` gets ``base + i``). Services of ordinals ``>= replicas`` are deleted when scaling down.

The operator reads the Services back and publishes each pod's address (``llamanet_common.advertise``)
in the ConfigMap ``<name>-advertise``, one key per pod name, which the pods mount (``ADVERTISE_FILE``):

- NodePort: ``swarm.advertiseHost`` (this site's node address) with the Service's assigned NodePorts;
- LoadBalancer: the first ``status.loadBalancer.ingress`` ip (or hostname) with the Service ports, once
  the load balancer has one; until then nothing is published for that pod, which keeps advertising its
  in-cluster name.
"""

from __future__ import annotations

from typing import Any

from llamanet_common.advertise import Advertised, DhtAddress, format_url
from llamanet_operator.names import (
    DHT_PORT,
    HTTP_PORT,
    ORDINAL_LABEL,
    POD_NAME_LABEL,
    Owner,
    advertise_config_name,
    metadata,
    pod_name,
    pod_service_name,
    selector_labels,
    selector_string,
)
from llamanet_operator.spec import LlamaNodeSpec


def pod_service_selector(owner: Owner) -> str:
    """The label selector of this LlamaNode's per-pod Services (to list them back)."""
    return f"{selector_string(owner)},{ORDINAL_LABEL}"


def _port(name: str, port: int, protocol: str, base: int | None, ordinal: int) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "port": port, "targetPort": name, "protocol": protocol}
    if base is not None:
        out["nodePort"] = base + ordinal
    return out


def pod_service(owner: Owner, spec: LlamaNodeSpec, ordinal: int) -> dict[str, Any]:
    """Replica ``ordinal``'s own Service: only that pod behind it, ready or not (the DHT must reach a pod
    whose model still loads, as the headless Service does)."""
    pods = spec.swarm.pod_services
    assert pods is not None
    meta = metadata(owner, pod_service_name(owner, ordinal))
    meta["labels"][ORDINAL_LABEL] = str(ordinal)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": pods.type,
            "selector": {**selector_labels(owner), POD_NAME_LABEL: pod_name(owner, ordinal)},
            "publishNotReadyAddresses": True,
            "ports": [
                _port("dht", DHT_PORT, "UDP", pods.dht_node_port_base, ordinal),
                _port("http", HTTP_PORT, "TCP", pods.http_node_port_base, ordinal),
            ],
        },
    }


def pod_services(owner: Owner, spec: LlamaNodeSpec) -> list[dict[str, Any]]:
    """One Service per replica; none without ``swarm.podServices``."""
    if spec.swarm.pod_services is None:
        return []
    return [pod_service(owner, spec, i) for i in range(spec.replicas)]


def ordinal_of(service: dict[str, Any]) -> int | None:
    """The replica ordinal a per-pod Service was made for (its label); None for any other Service."""
    value = ((service.get("metadata") or {}).get("labels") or {}).get(ORDINAL_LABEL)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def stale_pod_services(services: list[dict[str, Any]], spec: LlamaNodeSpec) -> list[str]:
    """Names of observed per-pod Services to delete: ordinals ``>= replicas``, or all without podServices."""
    keep = spec.replicas if spec.swarm.pod_services is not None else 0
    return sorted(s["metadata"]["name"] for s in services if (o := ordinal_of(s)) is not None and o >= keep)


def _ports(service: dict[str, Any], key: str) -> dict[str, int]:
    """Port name -> ``key`` (``port`` or ``nodePort``) of a Service, where set."""
    out: dict[str, int] = {}
    for port in (service.get("spec") or {}).get("ports") or []:
        value = port.get(key)
        if isinstance(value, int) and port.get("name"):
            out[str(port["name"])] = value
    return out


def _ingress_host(service: dict[str, Any]) -> str | None:
    ingress = (((service.get("status") or {}).get("loadBalancer") or {}).get("ingress")) or []
    for entry in ingress:
        host = entry.get("ip") or entry.get("hostname")
        if host:
            return str(host)
    return None


def service_address(spec: LlamaNodeSpec, service: dict[str, Any]) -> Advertised | None:
    """Where other sites reach the pod behind ``service``; None while that is not known yet."""
    kind = (service.get("spec") or {}).get("type")
    if kind == "LoadBalancer":
        host, ports = _ingress_host(service), _ports(service, "port")
    elif kind == "NodePort":
        host, ports = spec.swarm.advertise_host, _ports(service, "nodePort")
    else:
        return None
    if not host or "dht" not in ports or "http" not in ports:
        return None
    return Advertised(dht=DhtAddress(host=host, port=ports["dht"]), urls=[format_url(host, ports["http"])])


def advertised_addresses(owner: Owner, spec: LlamaNodeSpec, services: list[dict[str, Any]]) -> dict[str, str]:
    """Pod name -> its ``Advertised`` JSON, for each current replica whose Service has an address."""
    if spec.swarm.pod_services is None:
        return {}
    out: dict[str, str] = {}
    taken: set[tuple[str, int]] = set()
    for service in sorted(services, key=lambda s: ordinal_of(s) or 0):
        ordinal = ordinal_of(service)
        if ordinal is None or ordinal >= spec.replicas:
            continue
        address = service_address(spec, service)
        if address is None or (address.dht.host, address.dht.port) in taken:
            continue  # never two pods at one address (e.g. load balancers sharing an IP)
        taken.add((address.dht.host, address.dht.port))
        out[pod_name(owner, ordinal)] = address.to_json()
    return out


def advertise_config_map(owner: Owner, addresses: dict[str, str]) -> dict[str, Any]:
    """The ConfigMap the pods mount: one key (file) per pod name."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, advertise_config_name(owner)),
        "data": dict(addresses),
    }
