"""Per-pod external addresses: the Services, scaling them down, and the address map from fake Services
(kind has no load balancer: ingress addresses are tested here)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from llamanet_common.advertise import parse_advertised
from llamanet_operator.errors import SpecError
from llamanet_operator.names import Owner
from llamanet_operator.podenv import managed_env
from llamanet_operator.podsecurity import restricted_violations
from llamanet_operator.podservices import (
    advertise_config_map,
    advertised_addresses,
    ordinal_of,
    pod_service_selector,
    pod_services,
    stale_pod_services,
)
from llamanet_operator.reconcile import desired_children
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import LlamaNodeSpec, parse_spec
from llamanet_operator.statefulset import build_statefulset
from tests.unit.operator.conftest import url_spec

SITE = "203.0.113.10"


def per_pod(replicas: int = 2, **pods: Any) -> LlamaNodeSpec:
    return parse_spec(url_spec(replicas=replicas, swarm={"advertiseHost": SITE, "podServices": pods}))


def assigned(services: list[dict[str, Any]], first_port: int = 31000) -> list[dict[str, Any]]:
    """The Services as the API server hands them back: NodePorts assigned where the spec left them out."""
    out = copy.deepcopy(services)
    port = first_port
    for svc in out:
        for p in svc["spec"]["ports"]:
            if "nodePort" not in p:
                p["nodePort"] = port
                port += 1
        svc["status"] = {"loadBalancer": {}}
    return out


def ingress(svc: dict[str, Any], **entry: str) -> dict[str, Any]:
    svc["status"] = {"loadBalancer": {"ingress": [entry]}}
    return svc


def test_one_service_per_replica_selected_by_pod_name(owner: Owner) -> None:
    services = pod_services(owner, per_pod(3))
    assert [s["metadata"]["name"] for s in services] == ["smollm-ext-0", "smollm-ext-1", "smollm-ext-2"]
    for i, svc in enumerate(services):
        assert svc["spec"]["type"] == "NodePort" and svc["spec"]["publishNotReadyAddresses"] is True
        assert svc["spec"]["selector"]["statefulset.kubernetes.io/pod-name"] == f"smollm-{i}"
        assert svc["spec"]["selector"]["app.kubernetes.io/instance"] == "smollm"
        ports = {(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]}
        assert ports == {("dht", 8001, "UDP"), ("http", 8000, "TCP")}
        assert all("nodePort" not in p for p in svc["spec"]["ports"])  # Kubernetes assigns them
        assert svc["metadata"]["ownerReferences"][0]["uid"] == "uid-1"  # garbage-collected with it
        assert ordinal_of(svc) == i
    assert pod_service_selector(owner).endswith(",llamanet.io/ordinal")
    assert pod_services(owner, parse_spec(url_spec(replicas=3))) == []


def test_fixed_bases_give_pod_i_base_plus_i(owner: Owner) -> None:
    services = pod_services(
        owner, per_pod(2, type="LoadBalancer", dhtNodePortBase=30800, httpNodePortBase=30900)
    )
    got = [{p["name"]: p["nodePort"] for p in s["spec"]["ports"]} for s in services]
    assert got == [{"dht": 30800, "http": 30900}, {"dht": 30801, "http": 30901}]
    assert {s["spec"]["type"] for s in services} == {"LoadBalancer"}


def test_they_replace_the_shared_dht_service(owner: Owner) -> None:
    children = desired_children(owner, per_pod(2), OperatorSettings())
    names = [c["metadata"]["name"] for c in children if c["kind"] == "Service"]
    assert names == ["smollm-peers", "smollm", "smollm-ext-0", "smollm-ext-1"]
    shared = desired_children(owner, parse_spec(url_spec(replicas=2)), OperatorSettings())
    assert "smollm-dht" in [c["metadata"]["name"] for c in shared]


def test_scaling_down_deletes_the_services_of_removed_ordinals(owner: Owner) -> None:
    observed = assigned(pod_services(owner, per_pod(4)))
    observed.append({"metadata": {"name": "smollm-peers", "labels": {}}})  # not a per-pod Service
    assert stale_pod_services(observed, per_pod(2)) == ["smollm-ext-2", "smollm-ext-3"]
    assert stale_pod_services(observed, per_pod(4)) == []
    assert stale_pod_services(observed, per_pod(0)) == [f"smollm-ext-{i}" for i in range(4)]
    # podServices turned off: every per-pod Service goes
    assert len(stale_pod_services(observed, parse_spec(url_spec(replicas=4)))) == 4


def test_nodeport_addresses_are_the_site_host_with_each_pods_own_ports(owner: Owner) -> None:
    spec = per_pod(2)
    addresses = advertised_addresses(owner, spec, assigned(pod_services(owner, spec)))
    assert list(addresses) == ["smollm-0", "smollm-1"]
    docs = {pod: parse_advertised(text) for pod, text in addresses.items()}
    assert (docs["smollm-0"].dht.host, docs["smollm-0"].dht.port) == (SITE, 31000)
    assert docs["smollm-0"].urls == [f"http://{SITE}:31001"]
    assert (docs["smollm-1"].dht.port, docs["smollm-1"].urls) == (31002, [f"http://{SITE}:31003"])
    dht = {(d.dht.host, d.dht.port) for d in docs.values()}
    assert len(dht) == len(docs)  # no two pods share an advertised address


def test_loadbalancer_addresses_are_published_once_assigned(owner: Owner) -> None:
    spec = per_pod(3, type="LoadBalancer")
    observed = assigned(pod_services(owner, spec))
    assert advertised_addresses(owner, spec, observed) == {}  # nothing assigned yet
    ingress(observed[0], ip="198.51.100.1")
    ingress(observed[2], hostname="lb-2.example.org")
    addresses = advertised_addresses(owner, spec, observed)
    assert list(addresses) == ["smollm-0", "smollm-2"]  # smollm-1 keeps its in-cluster name for now
    first, third = parse_advertised(addresses["smollm-0"]), parse_advertised(addresses["smollm-2"])
    assert (first.dht.host, first.dht.port, first.urls) == (
        "198.51.100.1",
        8001,
        ["http://198.51.100.1:8000"],
    )
    assert (third.dht.host, third.urls) == ("lb-2.example.org", ["http://lb-2.example.org:8000"])
    ingress(observed[1], ip="2001:db8::1")
    assert parse_advertised(advertised_addresses(owner, spec, observed)["smollm-1"]).urls == [
        "http://[2001:db8::1]:8000"
    ]


def test_a_shared_address_is_published_for_one_pod_only(owner: Owner) -> None:
    spec = per_pod(2, type="LoadBalancer")
    observed = [ingress(s, ip="198.51.100.9") for s in assigned(pod_services(owner, spec))]
    assert list(advertised_addresses(owner, spec, observed)) == ["smollm-0"]


def test_removed_ordinals_and_unknown_types_are_not_published(owner: Owner) -> None:
    observed = assigned(pod_services(owner, per_pod(3)))
    assert list(advertised_addresses(owner, per_pod(2), observed)) == ["smollm-0", "smollm-1"]
    observed[0]["spec"]["type"] = "ClusterIP"
    assert list(advertised_addresses(owner, per_pod(2), observed)) == ["smollm-1"]
    assert advertised_addresses(owner, parse_spec(url_spec(replicas=3)), observed) == {}


def test_config_map_holds_one_key_per_pod(owner: Owner) -> None:
    spec = per_pod(2)
    cm = advertise_config_map(owner, advertised_addresses(owner, spec, assigned(pod_services(owner, spec))))
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == "smollm-advertise"
    assert set(cm["data"]) == {"smollm-0", "smollm-1"}
    assert json.loads(cm["data"]["smollm-1"])["dht"] == {"host": SITE, "port": 31002}
    assert cm["metadata"]["ownerReferences"][0]["kind"] == "LlamaNode"


def test_pods_mount_the_map_and_read_their_own_file(owner: Owner) -> None:
    spec = per_pod(2)
    env = managed_env(owner, spec)
    assert env["ADVERTISE_FILE"] == "/etc/llamanet/advertise/$(POD_NAME)"
    assert env["ADVERTISE_HOST"] == "$(POD_NAME).smollm-peers.demo.svc.cluster.local"  # until published
    assert "ADVERTISE_DHT_PORT" not in env and "ADVERTISE_URLS" not in env
    pod = build_statefulset(owner, spec, "img:1")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "advertise"]
    assert volume["configMap"] == {"name": "smollm-advertise", "optional": True}
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "advertise"]
    assert mount == {"name": "advertise", "mountPath": "/etc/llamanet/advertise", "readOnly": True}
    assert "subPath" not in mount  # the kubelet only updates whole-volume mounts
    assert restricted_violations(pod) == []  # a ConfigMap volume, no host ports
    shared = build_statefulset(owner, parse_spec(url_spec(replicas=2)), "img:1")["spec"]["template"]["spec"]
    assert "advertise" not in [v["name"] for v in shared["volumes"]]
    assert "ADVERTISE_FILE" not in managed_env(owner, parse_spec(url_spec()))


@pytest.mark.parametrize(
    ("swarm", "message"),
    [
        ({"podServices": {}}, "needs swarm.advertiseHost"),
        ({"advertiseHost": SITE, "dhtNodePort": 30800, "podServices": {}}, "leave out"),
        ({"advertiseHost": SITE, "advertiseUrls": ["http://x:1"], "podServices": {}}, "leave out"),
        ({"advertiseHost": SITE, "advertiseDhtPort": 30800, "podServices": {}}, "leave out"),
        ({"advertiseHost": SITE, "podServices": {"dhtNodePortBase": 32767}}, "passes 32767"),
        (
            {"advertiseHost": SITE, "podServices": {"dhtNodePortBase": 30800, "httpNodePortBase": 30801}},
            "overlap",
        ),
    ],
)
def test_specs_that_cannot_give_each_pod_its_own_address(swarm: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(url_spec(replicas=2, swarm=swarm))


def test_the_endpoint_nodeport_must_not_fall_in_a_pod_range() -> None:
    swarm = {"advertiseHost": SITE, "podServices": {"httpNodePortBase": 30900}}
    with pytest.raises(SpecError, match=r"service\.nodePort 30901"):
        parse_spec(url_spec(replicas=2, swarm=swarm, service={"type": "NodePort", "nodePort": 30901}))
    parse_spec(url_spec(replicas=2, swarm=swarm, service={"type": "NodePort", "nodePort": 30902}))


def test_the_autoscaler_bound_counts_for_fixed_bases() -> None:
    swarm = {"advertiseHost": SITE, "podServices": {"dhtNodePortBase": 32760}}
    parse_spec(url_spec(replicas=2, swarm=swarm))
    with pytest.raises(SpecError, match="passes 32767"):
        parse_spec(url_spec(replicas=2, swarm=swarm, autoscaling={"maxReplicas": 10}))
    lb = {"podServices": {"type": "LoadBalancer"}}  # a load balancer's address needs no site host
    assert parse_spec(url_spec(swarm=lb)).swarm.pod_services is not None
