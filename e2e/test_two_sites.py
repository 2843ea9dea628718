"""Two sites, one swarm (issues 8, 15): two kind clusters, each with the chart and a 2-replica LlamaNode
serving a different model. Every pod has its own external address (``swarm.podServices``: one NodePort
Service per replica, published to the pod by the operator); site B's LlamaNode bootstraps from site A's
pods' DHT NodePorts. Every node lists all 4 nodes at 4 distinct advertised addresses; a request at site
B for the model only site A serves is answered via A, and the other way round.
"""

from __future__ import annotations

import json
from typing import Any

from e2e.kube import Cluster, wait_for
from e2e.product import ModelServer, chat_in_cluster, llamanode
from e2e.test_operator import SMOL, get_ln

GEMMA = "gemma3-270m"
REPLICAS = 2


def site_spec(node_ip: str, http_base: int, dht_base: int, site: str, peers: list[str]) -> dict[str, Any]:
    """What a LlamaNode at one site needs so the other site's nodes reach each of its pods: its node's
    address, one NodePort Service per pod (pod i: the fixed bases + i, so the other site can bootstrap
    from them), and the peers to join."""
    return {
        "site": site,
        "swarm": {
            "advertiseHost": node_ip,
            "podServices": {"type": "NodePort", "dhtNodePortBase": dht_base, "httpNodePortBase": http_base},
            "bootstrapPeers": peers,
        },
    }


def free_port_bases(clusters: list[Cluster], count: int, width: int) -> list[int]:
    """``count`` bases of ``width`` consecutive NodePorts that no Service of ``clusters`` holds yet."""
    used = {
        port["nodePort"]
        for cluster in clusters
        for svc in cluster.json("get", "services", "-A")["items"]
        for port in svc["spec"].get("ports", [])
        if "nodePort" in port
    }
    bases = [b for b in range(30500, 32700, width) if not used & set(range(b, b + width))]
    assert len(bases) >= count, "no free NodePorts"
    return bases[:count]


def running_pods(cluster: Cluster, ns: str, selector: str) -> list[str]:
    """Names of the pods of ``selector`` that are not being deleted."""
    return sorted(
        p["metadata"]["name"]
        for p in cluster.json("get", "pods", "-n", ns, "-l", selector)["items"]
        if not p["metadata"].get("deletionTimestamp")
    )


def swarm_nodes(cluster: Cluster, ns: str, pod: str) -> dict[str, Any]:
    """The pod's own ``GET /swarm/nodes`` (through the API server's pod proxy)."""
    raw = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{ns}/pods/{pod}:8000/proxy/swarm/nodes")
    out: dict[str, Any] = json.loads(raw)
    return out


def dht_of(record: dict[str, Any]) -> tuple[str, int]:
    """A listed record's advertised DHT address (record format 1 or 2)."""
    dht = record.get("dht") or {"host": record["dht_host"], "port": record["dht_port"]}
    return str(dht["host"]), int(dht["port"])


def sees_all(cluster: Cluster, ns: str, name: str) -> dict[str, Any]:
    obj = get_ln(cluster, ns, name)
    swarm = obj.get("status", {}).get("swarm", {})
    full = swarm.get("peers") == 2 * REPLICAS and sorted(swarm.get("models", [])) == [GEMMA, SMOL]
    if not full:  # wait_for names the last of these if the swarm never forms
        raise LookupError(f"{name} status.swarm is {swarm}")
    return obj


def every_node_lists_all(pods: list[tuple[Cluster, str, str]], site_hosts: set[str]) -> bool:
    """Each pod's ``/swarm/nodes`` lists all pods of both sites, each at its own external address."""
    for cluster, ns, pod in pods:
        nodes = swarm_nodes(cluster, ns, pod)["nodes"]
        addresses = {dht_of(n) for n in nodes}
        urls = {u for n in nodes for u in n["urls"]}
        if len(nodes) != len(pods) or len(addresses) != len(pods) or len(urls) != len(pods):
            return False
        if {host for host, _ in addresses} != site_hosts:
            return False
    return True


def node_ids(cluster: Cluster, ns: str, pods: list[str]) -> set[str]:
    """The node id(s) the pods answer with (their /info), to recognise their answers at the other site."""
    ids: set[str] = set()
    for pod in pods:
        raw = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{ns}/pods/{pod}:8000/proxy/info")
        ids |= {str(v) for k, v in json.loads(raw).items() if k in ("node_id", "id", "name") and v}
    return ids


def test_two_sites_form_one_swarm_and_route_across(
    operator_a: Cluster,
    operator_b: Cluster,
    ns_a: str,
    ns_b: str,
    model_server: ModelServer,
    product_images: dict[str, str],
) -> None:
    a_ip, b_ip = operator_a.node_ip(), operator_b.node_ip()
    a_http, a_dht, b_http, b_dht = free_port_bases([operator_a, operator_b], 4, REPLICAS)
    operator_a.apply(
        llamanode(
            "alpha", model_server.model(SMOL), replicas=REPLICAS, **site_spec(a_ip, a_http, a_dht, "a", [])
        ),
        ns_a,
    )
    a_peers = [f"{a_ip}:{a_dht + i}" for i in range(REPLICAS)]
    operator_b.apply(
        llamanode(
            "beta",
            model_server.model(GEMMA),
            replicas=REPLICAS,
            **site_spec(b_ip, b_http, b_dht, "b", a_peers),
        ),
        ns_b,
    )
    # within the test's 600 s: a swarm that never forms fails here, naming what each side saw
    wait_for("site A to see all nodes", lambda: sees_all(operator_a, ns_a, "alpha"), 300, 3)
    wait_for("site B to see all nodes", lambda: sees_all(operator_b, ns_b, "beta"), 120, 3)

    # every node lists all 4 nodes, no two at one advertised address (one Service per pod)
    alpha_pods = running_pods(operator_a, ns_a, "app.kubernetes.io/instance=alpha")
    beta_pods = running_pods(operator_b, ns_b, "app.kubernetes.io/instance=beta")
    assert len(alpha_pods) == len(beta_pods) == REPLICAS
    everyone = [(operator_a, ns_a, p) for p in alpha_pods] + [(operator_b, ns_b, p) for p in beta_pods]
    wait_for("every node to list all nodes", lambda: every_node_lists_all(everyone, {a_ip, b_ip}), 120, 3)
    published = json.loads(
        operator_a.kubectl("get", "configmap", "alpha-advertise", "-n", ns_a, "-o", "json")
    )
    assert sorted(published["data"]) == alpha_pods
    own = swarm_nodes(operator_a, ns_a, alpha_pods[1])
    (me,) = [n for n in own["nodes"] if n["is_self"]]
    assert dht_of(me) == (a_ip, a_dht + 1) and me["urls"] == [f"http://{a_ip}:{a_http + 1}"]

    # at site B, ask B's endpoint for the model only site A serves: B's node routes it to A's
    beta = get_ln(operator_b, ns_b, "beta")["status"]["endpoint"]
    out = chat_in_cluster(operator_b, ns_b, beta, SMOL, product_images["node"])
    assert out["answer"]["model"] == SMOL
    assert (out["answer"]["choices"][0]["message"]["content"] or "").strip(), out  # not just present
    assert out["node"] and out["node"] in node_ids(operator_a, ns_a, alpha_pods)
    # and the other way round
    alpha = get_ln(operator_a, ns_a, "alpha")["status"]["endpoint"]
    assert chat_in_cluster(operator_a, ns_a, alpha, GEMMA, product_images["node"])["answer"]["model"] == GEMMA
    models_at_b = json.loads(
        operator_b.kubectl("get", "--raw", f"/api/v1/namespaces/{ns_b}/services/beta:8000/proxy/v1/models")
    )
    assert sorted(m["id"] for m in models_at_b["data"]) == [GEMMA, SMOL]
