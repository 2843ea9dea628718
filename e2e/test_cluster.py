"""The cluster itself (issue 6): a real kind cluster built here runs what our product needs.

Nodes Ready; a pod from a locally built, never-pulled image; a ClusterIP Service reached by its cluster
DNS name; StatefulSet pods resolving each other by stable names; an extended resource advertised by a
status patch lets a pod requesting it schedule; a NodePort of one cluster reached from a pod of another
through both sites' NAT routers, and not around them.
"""

from __future__ import annotations

import json

import pytest

from e2e.conftest import kind_sh
from e2e.kube import GPU, RESTRICTED_CONTAINER, RESTRICTED_POD, Cluster, versions, wait_for

# JSON is YAML: the restricted security contexts inline in the manifests below
RESTRICTED_POD_YAML = json.dumps(RESTRICTED_POD)
RESTRICTED_CONTAINER_YAML = json.dumps(RESTRICTED_CONTAINER)


def echo_deployment(name: str, image: str, replicas: int = 1) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      securityContext: {RESTRICTED_POD_YAML}
      containers:
        - name: echo
          image: {image}
          imagePullPolicy: Never
          securityContext: {RESTRICTED_CONTAINER_YAML}
          ports: [{{containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: /ready, port: 8080}}, periodSeconds: 1}}
"""


def client_pod(name: str, image: str) -> str:
    """A pod that only idles; checks run in it with `kubectl exec ... /echoserver get|resolve`."""
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  securityContext: {RESTRICTED_POD_YAML}
  containers:
    - name: client
      image: {image}
      imagePullPolicy: Never
      securityContext: {RESTRICTED_CONTAINER_YAML}
      args: ["serve", ":9090"]
"""


def load(cluster: Cluster, image: str) -> None:
    kind_sh("load", cluster.name, image, timeout=600)


def get_from_pod(cluster: Cluster, ns: str, pod: str, url: str) -> dict[str, str]:
    out: dict[str, str] = json.loads(cluster.exec_in_pod(ns, pod, "/echoserver", "get", url))
    return out


def test_node_is_ready_and_runs_the_version_built_here(site_a: Cluster) -> None:
    nodes = site_a.json("get", "nodes")["items"]
    assert len(nodes) == 1
    node = nodes[0]
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions["Ready"] == "True", node["status"]["conditions"]
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == versions()["K8S_VERSION"]
    assert info["containerRuntimeVersion"].startswith("containerd://")
    server = json.loads(site_a.kubectl("version", "-o", "json"))["serverVersion"]
    assert server["gitVersion"] == versions()["K8S_VERSION"]
    # the system pods (etcd, apiserver, controller-manager, scheduler, proxy, CoreDNS) all run
    pods = site_a.json("get", "pods", "-n", "kube-system")["items"]
    running = {p["metadata"]["name"].rsplit("-", 2)[0] for p in pods if p["status"]["phase"] == "Running"}
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "coredns"):
        assert any(name.startswith(component) for name in running), (component, sorted(running))


def test_locally_built_image_runs_behind_a_service_with_cluster_dns(
    site_a: Cluster, ns_a: str, echo_image: str
) -> None:
    load(site_a, echo_image)
    site_a.apply(echo_deployment("echo", echo_image, replicas=2), ns_a)
    site_a.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: echo}\n"
        "spec: {selector: {app: echo}, ports: [{port: 80, targetPort: 8080}]}\n",
        ns_a,
    )
    site_a.apply(client_pod("client", echo_image), ns_a)
    backends = site_a.wait_pods_ready(ns_a, "app=echo", 2)
    wait_for("client pod running", lambda: site_a.pod_phase(ns_a, "client") == "Running", 120)
    # the image was never pulled: the pods run what `kind load` put on the node
    events = site_a.kubectl("get", "events", "-n", ns_a, "-o", "json")
    assert "ErrImageNeverPull" not in events and '"Pulling"' not in events

    fqdn = f"echo.{ns_a}.svc.cluster.local"
    cluster_ip = site_a.json("get", "service", "-n", ns_a, "echo")["spec"]["clusterIP"]
    resolved = wait_for(
        f"DNS {fqdn}", lambda: site_a.exec_in_pod(ns_a, "client", "/echoserver", "resolve", fqdn)
    )
    assert resolved.split() == [cluster_ip]
    # kube-proxy programs a new Service within a moment: the first answer is waited for
    url = f"http://{fqdn}/hello"
    first = wait_for(f"the Service {fqdn} to answer", lambda: get_from_pod(site_a, ns_a, "client", url), 60)
    seen = {first["hostname"]}
    for _ in range(30):
        seen.add(get_from_pod(site_a, ns_a, "client", f"http://{fqdn}/hello")["hostname"])
        if seen == set(backends):
            break
    assert seen == set(backends), "the Service should spread requests over both backends"
    # the short name works too (search path of the pod's resolv.conf)
    assert get_from_pod(site_a, ns_a, "client", "http://echo/x")["path"] == "/x"


def test_statefulset_pods_resolve_each_other_by_stable_names(
    site_a: Cluster, ns_a: str, echo_image: str
) -> None:
    load(site_a, echo_image)
    site_a.apply(
        f"""
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {{app: web}}
  ports: [{{port: 8080}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  serviceName: web
  replicas: 2
  podManagementPolicy: Parallel
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      securityContext: {RESTRICTED_POD_YAML}
      containers:
        - name: echo
          image: {echo_image}
          imagePullPolicy: Never
          securityContext: {RESTRICTED_CONTAINER_YAML}
""",
        ns_a,
    )
    assert site_a.wait_pods_ready(ns_a, "app=web", 2) == ["web-0", "web-1"]
    for me, peer in (("web-0", "web-1"), ("web-1", "web-0")):
        url = f"http://{peer}.web.{ns_a}.svc.cluster.local:8080/"
        answer = wait_for(f"{me} -> {peer}", lambda me=me, url=url: get_from_pod(site_a, ns_a, me, url))
        assert answer["hostname"] == peer


def test_extended_gpu_resource_advertised_by_status_patch_lets_a_pod_schedule(
    site_a: Cluster, ns_a: str, echo_image: str
) -> None:
    load(site_a, echo_image)
    pod = client_pod("gpu", echo_image).replace(
        "      args:", f"      resources: {{limits: {{{GPU}: 1}}}}\n      args:"
    )
    site_a.apply(pod, ns_a)
    wait_for(
        "the GPU pod to be unschedulable for lack of nvidia.com/gpu",
        lambda: site_a.unschedulable_for_gpus(ns_a, "gpu"),
        60,
    )
    try:
        node = site_a.advertise_gpus(1)
        wait_for("the GPU pod to run", lambda: site_a.pod_phase(ns_a, "gpu") == "Running", 120)
        assert site_a.json("get", "pod", "-n", ns_a, "gpu")["spec"]["nodeName"] == node
    finally:
        site_a.kubectl("delete", "pod", "-n", ns_a, "gpu", "--wait=true", check=False)
        site_a.withdraw_gpus()


def test_nodeport_of_one_cluster_is_reachable_from_a_pod_of_the_other(
    site_a: Cluster, site_b: Cluster, ns_a: str, ns_b: str, echo_image: str
) -> None:
    load(site_a, echo_image)
    load(site_b, echo_image)
    site_a.apply(echo_deployment("echo", echo_image), ns_a)
    site_a.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: echo}\n"
        "spec: {type: NodePort, selector: {app: echo}, ports: [{port: 80, targetPort: 8080}]}\n",
        ns_a,
    )
    (backend,) = site_a.wait_pods_ready(ns_a, "app=echo", 1)
    node_port = site_a.json("get", "service", "-n", ns_a, "echo")["spec"]["ports"][0]["nodePort"]
    site_b.apply(client_pod("client", echo_image), ns_b)
    wait_for("client pod in site B", lambda: site_b.pod_phase(ns_b, "client") == "Running", 120)
    # through both NATs: site A's router forwards its NodePorts in from its WAN address
    url = f"http://{site_a.external_host()}:{node_port}/across"
    answer = wait_for(f"site B -> {url}", lambda: get_from_pod(site_b, ns_b, "client", url), 60)
    assert answer == {"hostname": backend, "path": "/across"}
    # and only through them: site A's node is not reachable from site B at its own address
    if site_a.site is not None:
        direct = f"http://{site_a.node_ip()}:{node_port}/direct"
        with pytest.raises(RuntimeError):
            get_from_pod(site_b, ns_b, "client", direct)
