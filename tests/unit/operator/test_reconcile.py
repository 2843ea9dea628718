"""The reconcile pass's I/O order against a recording fake ``Kube``: per-pod Services, then the address
map the pods mount, then the StatefulSet; scaling down and turning podServices off clean up."""

from __future__ import annotations

import copy
from typing import Any

from llamanet_operator.names import Owner
from llamanet_operator.podservices import ordinal_of
from llamanet_operator.reconcile import apply_children, publish_addresses
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import parse_spec
from tests.unit.operator.conftest import url_spec


class FakeKube:
    """Keeps applied Services (assigning NodePorts as the API server does) and records every call."""

    def __init__(self) -> None:
        self.services_by_name: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.next_port = 31000

    def apply(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        self.calls.append(("apply", obj["kind"], name))
        if obj["kind"] == "Service":
            svc = copy.deepcopy(obj)
            old = self.services_by_name.get(name)
            for port in svc["spec"]["ports"]:
                kept = [p for p in (old or {}).get("spec", {}).get("ports", []) if p["name"] == port["name"]]
                if "nodePort" not in port and svc["spec"].get("type") in ("NodePort", "LoadBalancer"):
                    port["nodePort"] = kept[0]["nodePort"] if kept else self._port()
            self.services_by_name[name] = svc
        if obj["kind"] == "ConfigMap":
            self.config_data = dict(obj["data"])

    def _port(self) -> int:
        self.next_port += 1
        return self.next_port

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        self.calls.append(("delete", kind, name))
        if kind == "Service":
            self.services_by_name.pop(name, None)

    def services(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        assert selector.endswith(",llamanet.io/ordinal")
        return [copy.deepcopy(s) for s in self.services_by_name.values() if ordinal_of(s) is not None]


def spec(replicas: int, pods: bool = True) -> Any:
    swarm = {"advertiseHost": "203.0.113.10", **({"podServices": {}} if pods else {})}
    return parse_spec(url_spec(replicas=replicas, swarm=swarm))


def run(kube: FakeKube, owner: Owner, replicas: int, pods: bool = True) -> None:
    apply_children(kube, owner, spec(replicas, pods), OperatorSettings())  # type: ignore[arg-type]


def test_addresses_are_published_before_the_pods_exist(owner: Owner) -> None:
    kube = FakeKube()
    run(kube, owner, 2)
    order = [(verb, kind, name) for verb, kind, name in kube.calls]
    assert order.index(("apply", "ConfigMap", "smollm-advertise")) < order.index(
        ("apply", "StatefulSet", "smollm")
    )
    assert order.index(("apply", "Service", "smollm-ext-1")) < order.index(
        ("apply", "ConfigMap", "smollm-advertise")
    )
    assert ("delete", "Service", "smollm-dht") in order  # the shared DHT Service goes
    assert set(kube.config_data) == {"smollm-0", "smollm-1"}
    assert len(set(kube.config_data.values())) == 2


def test_scaling_adds_and_removes_services_and_keys(owner: Owner) -> None:
    kube = FakeKube()
    run(kube, owner, 3)
    before = dict(kube.config_data)
    run(kube, owner, 1)
    assert [n for n in kube.services_by_name if n.startswith("smollm-ext")] == ["smollm-ext-0"]
    assert kube.config_data == {"smollm-0": before["smollm-0"]}  # the survivor keeps its address
    run(kube, owner, 2)
    assert set(kube.config_data) == {"smollm-0", "smollm-1"}
    assert kube.config_data["smollm-0"] == before["smollm-0"]


def test_turning_pod_services_off_removes_them_and_the_map(owner: Owner) -> None:
    kube = FakeKube()
    run(kube, owner, 2)
    kube.calls.clear()
    run(kube, owner, 2, pods=False)
    assert {("delete", "Service", "smollm-ext-0"), ("delete", "Service", "smollm-ext-1")} <= set(kube.calls)
    assert ("delete", "ConfigMap", "smollm-advertise") in kube.calls
    assert ("apply", "Service", "smollm-dht") in kube.calls
    kube.calls.clear()
    assert publish_addresses(kube, owner, spec(2, pods=False)) == {}  # type: ignore[arg-type]
    assert kube.calls == []  # nothing left to clean up: no API calls beyond the list
