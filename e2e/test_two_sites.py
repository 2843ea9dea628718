"""Two sites, one swarm (issue 8): two kind clusters, each with the chart and a LlamaNode serving a
different model. Site B's LlamaNode bootstraps from site A's DHT Service (a NodePort on A's node); a
request at site B for the model only site A serves is answered via A; both statuses show both sites.
"""

from __future__ import annotations

import json
from typing import Any

from e2e.kube import Cluster, wait_for
from e2e.product import ModelServer, chat_in_cluster, llamanode
from e2e.test_operator import SMOL, get_ln

GEMMA = "gemma3-270m"


def site_spec(node_ip: str, http_port: int, dht_port: int, site: str, peers: list[str]) -> dict[str, Any]:
    """What a LlamaNode at one site needs so the other site's nodes reach it: its node's address, fixed
    NodePorts for the HTTP endpoint and the DHT, those advertised to the swarm, and the peers to join."""
    return {
        "site": site,
        "service": {"type": "NodePort", "nodePort": http_port},
        "swarm": {
            "advertiseHost": node_ip,
            "dhtServiceType": "NodePort",
            "dhtNodePort": dht_port,
            "advertiseUrls": [f"http://{node_ip}:{http_port}"],
            "bootstrapPeers": peers,
        },
    }


def free_node_ports(clusters: list[Cluster], count: int) -> list[int]:
    """NodePorts no Service of any of ``clusters`` holds yet (a random pick could hit one in use)."""
    used = {
        port["nodePort"]
        for cluster in clusters
        for svc in cluster.json("get", "services", "-A")["items"]
        for port in svc["spec"].get("ports", [])
        if "nodePort" in port
    }
    free = [p for p in range(30500, 32700) if p not in used]
    assert len(free) >= count, "no free NodePorts"
    return free[:count]


def running_pod(cluster: Cluster, ns: str, selector: str) -> dict[str, Any]:
    """The one pod of ``selector`` that is not being deleted (items[0] may be a terminating one)."""
    pods = [
        p
        for p in cluster.json("get", "pods", "-n", ns, "-l", selector)["items"]
        if not p["metadata"].get("deletionTimestamp")
    ]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    return pods[0]


def sees_both(cluster: Cluster, ns: str, name: str) -> dict[str, Any] | None:
    obj = get_ln(cluster, ns, name)
    swarm = obj.get("status", {}).get("swarm", {})
    return obj if swarm.get("peers") == 2 and sorted(swarm.get("models", [])) == [GEMMA, SMOL] else None


def alpha_node_ids(cluster: Cluster, ns: str, pod: str) -> set[str]:
    """The node id(s) site A's pod answers with (its /info), to recognise its answers at site B."""
    info = json.loads(cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{ns}/pods/{pod}:8000/proxy/info"))
    return {str(v) for k, v in info.items() if k in ("node_id", "id", "name") and v}


def test_two_sites_form_one_swarm_and_route_across(
    operator_a: Cluster,
    operator_b: Cluster,
    ns_a: str,
    ns_b: str,
    model_server: ModelServer,
    product_images: dict[str, str],
) -> None:
    a_ip, b_ip = operator_a.node_ip(), operator_b.node_ip()
    a_http, a_dht, b_http, b_dht = free_node_ports([operator_a, operator_b], 4)
    operator_a.apply(
        llamanode("alpha", model_server.model(SMOL), replicas=1, **site_spec(a_ip, a_http, a_dht, "a", [])),
        ns_a,
    )
    operator_b.apply(
        llamanode(
            "beta", model_server.model(GEMMA), replicas=1,
            **site_spec(b_ip, b_http, b_dht, "b", [f"{a_ip}:{a_dht}"]),
        ),
        ns_b,
    )  # fmt: skip
    wait_for("site A to see both sites", lambda: sees_both(operator_a, ns_a, "alpha"), 480, 3)
    wait_for("site B to see both sites", lambda: sees_both(operator_b, ns_b, "beta"), 240, 3)

    # at site B, ask B's endpoint for the model only site A serves: B's node routes it to A's
    beta = get_ln(operator_b, ns_b, "beta")["status"]["endpoint"]
    alpha_pod = running_pod(operator_a, ns_a, "app.kubernetes.io/instance=alpha")
    out = chat_in_cluster(operator_b, ns_b, beta, SMOL, product_images["node"])
    assert out["answer"]["model"] == SMOL
    assert (out["answer"]["choices"][0]["message"]["content"] or "").strip(), out  # not just present
    assert out["node"] and out["node"] in alpha_node_ids(operator_a, ns_a, alpha_pod["metadata"]["name"])
    # and the other way round
    alpha = get_ln(operator_a, ns_a, "alpha")["status"]["endpoint"]
    assert chat_in_cluster(operator_a, ns_a, alpha, GEMMA, product_images["node"])["answer"]["model"] == GEMMA
    models_at_b = json.loads(
        operator_b.kubectl("get", "--raw", f"/api/v1/namespaces/{ns_b}/services/beta:8000/proxy/v1/models")
    )
    assert sorted(m["id"] for m in models_at_b["data"]) == [GEMMA, SMOL]
