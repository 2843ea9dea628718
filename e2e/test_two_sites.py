"""Sites, one swarm (issues 8, 15): two kind clusters on separate Docker networks, each behind its own
masquerading NAT router (``e2e/sites.py``: the only path between them), each with the chart and a
2-replica LlamaNode serving a different model. Every pod has its own external address
(``swarm.podServices``: one NodePort Service per replica, forwarded in by its site's router, published to
the pod by the operator); site B's LlamaNode bootstraps from site A's pods' addresses. Every node lists
all 4 nodes at 4 distinct advertised addresses; a request at site B for the model only site A serves is
answered via A, and the other way round. A killed pod at site A comes back with the same identity and is
listed again at site B. A third site C (a node container on a third network behind a third router, no
control plane) knows only site B's address and still reaches site A's model.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import pytest

from e2e import sites
from e2e.kube import ARTIFACTS, CACHE, Cluster, run, wait_for
from e2e.product import ModelServer, chat_in_cluster, llamanode
from e2e.test_operator import SMOL, get_ln

GEMMA = "gemma3-270m"
REPLICAS = 2


def site_spec(host: str, http_base: int, dht_base: int, site: str, peers: list[str]) -> dict[str, Any]:
    """What a LlamaNode at one site needs so the other site's nodes reach each of its pods: its site's
    external address (the router's), one NodePort Service per pod (pod i: the fixed bases + i, so the
    other site can bootstrap from them), and the peers to join."""
    return {
        "site": site,
        "swarm": {
            "advertiseHost": host,
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


@pytest.mark.timeout(900)  # two sites forming, a pod replaced, a third site joining
def test_two_sites_form_one_swarm_and_route_across(
    operator_a: Cluster,
    operator_b: Cluster,
    ns_a: str,
    ns_b: str,
    model_server: ModelServer,
    product_images: dict[str, str],
) -> None:
    # each site's external address is its NAT router's: the other site reaches it only there
    a_ip, b_ip = operator_a.external_host(), operator_b.external_host()
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

    replaced_pod_is_listed_again_at_the_other_site(
        operator_a, ns_a, alpha_pods[1], operator_b, ns_b, beta_pods
    )
    third_site_reaches_the_first_through_the_second(
        product_images["node"], f"{b_ip}:{b_dht}", node_ids(operator_a, ns_a, alpha_pods)
    )


def record_of(cluster: Cluster, ns: str, pod: str, node_id: str) -> dict[str, Any] | None:
    return next((n for n in swarm_nodes(cluster, ns, pod)["nodes"] if n["node_id"] == node_id), None)


def replaced_pod_is_listed_again_at_the_other_site(
    site: Cluster, ns: str, pod: str, other: Cluster, other_ns: str, other_pods: list[str]
) -> None:
    """Kill ``pod``: its replacement has the same node id (its key lives on its volume) and every pod of
    the other site lists a record the new process published (uptime since the kill). Timings printed."""
    node_id = swarm_nodes(site, ns, pod)["self"]
    old_uid = site.json("get", "pod", "-n", ns, pod)["metadata"]["uid"]
    killed = time.monotonic()
    site.kubectl("delete", "pod", "-n", ns, pod, "--grace-period=1", "--wait=false")

    def replaced() -> bool:
        new = site.json("get", "pod", "-n", ns, pod)
        conditions = new["status"].get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        return new["metadata"]["uid"] != old_uid and ready

    wait_for(f"{pod} to be replaced and ready", replaced, 240, 2)
    ready_after = time.monotonic() - killed
    assert swarm_nodes(site, ns, pod)["self"] == node_id, "the replaced pod came back with a new identity"

    def relisted() -> bool:
        since = time.monotonic() - killed
        for other_pod in other_pods:
            record = record_of(other, other_ns, other_pod, node_id)
            if record is None or record["uptime_s"] > since:
                return False  # not listed, or still the killed process's record
        return True

    wait_for(f"site {other.name} to list the replaced {pod} again", relisted, 180, 2)
    print(f"{pod} killed: ready again after {ready_after:.0f}s, listed again at the other site after "
          f"{time.monotonic() - killed:.0f}s (same node id {node_id[:12]})")  # fmt: skip


SITE_C_NODE = "llamanet-e2e-site-c"


def start_site_node(site: sites.Site, image: str, model: str, bootstrap: str) -> str:
    """A node container (no control plane) on ``site``'s network behind its router, advertising the
    router's address, told only ``bootstrap``; returns its address on the site's network."""
    sites.prepare(site)
    run(["docker", "rm", "-f", SITE_C_NODE], check=False)
    env = {
        "MODEL_PATH": model,
        "NODE_ID": SITE_C_NODE,
        "SITE": site.name,
        "ADVERTISE_HOST": site.wan_host,
        "BOOTSTRAP_NODES": bootstrap,
        "N_CTX": "512",
        "N_THREADS": "1",
    }
    models = os.environ.get("LLAMANET_E2E_MODELS", str(CACHE / "models"))
    args = ["docker", "run", "-d", "--name", SITE_C_NODE, "--network", site.network]
    args += ["-v", f"{models}:/models:ro", *(f"--env={k}={v}" for k, v in env.items()), image]
    run(args)
    return sites.join_site(site, SITE_C_NODE, "8000:8001", hairpin=False)


def third_site_reaches_the_first_through_the_second(image: str, b_peer: str, a_ids: set[str]) -> None:
    site = sites.SITES["c"]
    started = time.monotonic()
    try:
        c = start_site_node(site, image, GEMMA, b_peer)
        base = f"http://{c}:8000"

        def lists_site_a() -> bool:
            listed = {n["node_id"] for n in httpx.get(f"{base}/swarm/nodes", timeout=5).json()["nodes"]}
            return bool(a_ids & listed) and all(i in listed for i in a_ids if len(i) == 40)

        wait_for("site C to list site A's nodes (it knows only site B)", lists_site_a, 240, 3)
        listed_after = time.monotonic() - started
        answer = httpx.post(
            f"{base}/v1/chat/completions",
            json={"model": SMOL, "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 8},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == SMOL and answer.headers["x-llamanet-node"] in a_ids
        print(f"site C listed site A's nodes {listed_after:.0f}s after its start, and reached {SMOL} there")
    finally:
        logs = run(["docker", "logs", SITE_C_NODE], check=False)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "site-c-node.log").write_text(logs.stdout + logs.stderr)
        run(["docker", "rm", "-f", SITE_C_NODE], check=False)
        sites.remove(site)
