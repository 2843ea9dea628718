from __future__ import annotations

from llamanet_operator.names import Owner, endpoint_url
from llamanet_operator.reconcile import desired_children
from llamanet_operator.services import client_service, dht_service, headless_service, pod_disruption_budget
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import parse_spec
from tests.unit.operator.conftest import url_spec


def test_headless_service_publishes_not_ready_pods(owner: Owner) -> None:
    svc = headless_service(owner)
    assert svc["metadata"]["name"] == "smollm-peers"
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True
    assert {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {(8000, "TCP"), (8001, "UDP")}


def test_client_service_is_the_openai_endpoint(owner: Owner) -> None:
    spec = parse_spec(url_spec(service={"type": "LoadBalancer", "port": 9000}))
    svc = client_service(owner, spec)
    assert svc["metadata"]["name"] == "smollm" and svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["ports"] == [{"name": "http", "port": 9000, "targetPort": "http", "protocol": "TCP"}]
    assert endpoint_url(owner, spec) == "http://smollm.demo.svc:9000/v1"
    fixed = client_service(owner, parse_spec(url_spec(service={"type": "NodePort", "nodePort": 30900})))
    assert fixed["spec"]["type"] == "NodePort" and fixed["spec"]["ports"][0]["nodePort"] == 30900


def test_dht_service_nodeport_and_loadbalancer(owner: Owner) -> None:
    svc = dht_service(owner, parse_spec(url_spec(swarm={"dhtNodePort": 30801})))
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"][0] | {} == {
        "name": "dht", "port": 8001, "targetPort": "dht", "protocol": "UDP", "nodePort": 30801,
    }  # fmt: skip
    lb = dht_service(owner, parse_spec(url_spec(swarm={"dhtServiceType": "LoadBalancer"})))
    assert lb["spec"]["type"] == "LoadBalancer" and "nodePort" not in lb["spec"]["ports"][0]


def test_pdb_only_with_more_than_one_replica(owner: Owner) -> None:
    assert pod_disruption_budget(owner, parse_spec(url_spec(replicas=1))) is None
    assert pod_disruption_budget(owner, parse_spec(url_spec(replicas=0))) is None
    pdb = pod_disruption_budget(owner, parse_spec(url_spec(replicas=3)))
    assert pdb is not None and pdb["spec"]["maxUnavailable"] == 1


def test_every_child_is_owned_and_labelled(owner: Owner) -> None:
    children = desired_children(owner, parse_spec(url_spec(replicas=2)), OperatorSettings())
    kinds = [c["kind"] for c in children]
    assert kinds == ["Service", "Service", "Service", "StatefulSet", "PodDisruptionBudget"]
    for child in children:
        meta = child["metadata"]
        assert meta["namespace"] == "demo"
        assert meta["ownerReferences"] == [
            {"apiVersion": "llamanet.io/v1alpha1", "kind": "LlamaNode", "name": "smollm", "uid": "uid-1",
             "controller": True, "blockOwnerDeletion": True}
        ]  # fmt: skip
        for key in ("name", "instance", "version", "component", "part-of", "managed-by"):
            assert f"app.kubernetes.io/{key}" in meta["labels"]
    single = desired_children(owner, parse_spec(url_spec()), OperatorSettings())
    assert "PodDisruptionBudget" not in [c["kind"] for c in single]
