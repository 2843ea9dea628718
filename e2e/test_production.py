"""The operator for production clusters (issue 17) on site A's cluster (no new control plane).

Pods admitted under Pod Security "restricted" (every namespace of the suite enforces it) on a root-owned
volume (fsGroup), keeping their DHT identity across a restart; `helm test` and a `helm upgrade` with
changed values that leaves LlamaNodes serving; autoscaling 1 -> 2 -> 1 from the pods' queue; a rolling
update with 0 failed requests; a namespace-scoped release beside the cluster-scoped one (excluded from
it) that can read no Secret and touch no pod outside its namespace.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from e2e.kube import (
    RESTRICTED_CONTAINER,
    RESTRICTED_LABELS,
    RESTRICTED_POD,
    ROOT,
    Cluster,
    kubectl_binary,
    run,
    wait_for,
)
from e2e.product import (
    OPERATOR_NAMESPACE,
    RELEASE,
    ModelServer,
    helm,
    install_operator,
    llamanode,
    operator_pod,
)
from e2e.test_operator import SMOL, children_left, get_ln, ready_with

HEALTH_ID = (
    "import json, urllib.request; "
    "print(json.load(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=5))['node_id'])"
)

# sequential chat requests until /tmp/stop appears (or 15 min): every failure is counted with its cause
LOOP_SCRIPT = """
import json, os, sys, time, urllib.request
url, model = sys.argv[1], sys.argv[2]
body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}).encode()
ok, failed, errors, deadline = 0, 0, [], time.monotonic() + 900
while not os.path.exists("/tmp/stop") and time.monotonic() < deadline:
    req = urllib.request.Request(url + "/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            json.load(resp)["choices"][0]["message"]
        ok += 1
    except Exception as exc:
        failed += 1
        errors.append(repr(exc)[:200])
    if ok == 1:
        open("/tmp/started", "w").close()
print(json.dumps({"ok": ok, "failed": failed, "errors": errors[:20]}))
"""

# N concurrent long requests: a queue on a single-slot node
BURST_SCRIPT = """
import json, sys, threading, urllib.request
url, model, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
results = []
def one():
    messages = [{"role": "user", "content": "Tell a long story."}]
    body = {"model": model, "messages": messages, "max_tokens": 160}
    req = urllib.request.Request(url + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            results.append(resp.status)
    except Exception as exc:
        results.append(repr(exc)[:200])
threads = [threading.Thread(target=one) for _ in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"ok": results.count(200), "results": results}))
"""


def start_pod(cluster: Cluster, ns: str, name: str, image: str, script: str, *args: str) -> None:
    """A restricted one-shot pod running ``python -c SCRIPT ARGS`` in the node image (not waited for)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {**RESTRICTED_POD, "runAsUser": 10001},
            "containers": [
                {
                    "name": name,
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c"],
                    "args": [script, *args],
                    "securityContext": RESTRICTED_CONTAINER,
                }
            ],
        },
    }
    cluster.apply(json.dumps(pod), ns)
    wait_for(f"pod {name} to start", lambda: cluster.pod_phase(ns, name) in ("Running", "Succeeded"), 120, 2)


def pod_result(cluster: Cluster, ns: str, name: str, timeout: float = 900) -> dict[str, Any]:
    """The JSON line a pod of ``start_pod`` printed last, once it finished successfully."""

    def finished() -> str | None:
        phase = cluster.pod_phase(ns, name)
        return phase if phase in ("Succeeded", "Failed") else None

    phase = wait_for(f"pod {name} to finish", finished, timeout, 2)
    logs = cluster.kubectl("logs", "-n", ns, name)
    assert phase == "Succeeded", logs[-3000:]
    out: dict[str, Any] = json.loads(logs.strip().splitlines()[-1])
    return out


def node_id(cluster: Cluster, ns: str, pod: str) -> str:
    return cluster.exec_in_pod(ns, pod, "python", "-c", HEALTH_ID).strip()


def pod_uid(cluster: Cluster, ns: str, pod: str) -> str:
    return str(cluster.json("get", "pod", "-n", ns, pod)["metadata"]["uid"])


def the_node(cluster: Cluster) -> str:
    names = cluster.kubectl("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").split()
    assert len(names) == 1, names  # the suite's clusters have one node each
    return names[0]


def test_restricted_pods_on_a_root_owned_volume_keep_their_identity(
    operator_a: Cluster, ns_a: str, model_server: ModelServer
) -> None:
    kube = operator_a
    labels = kube.json("get", "namespace", ns_a)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"

    # a root-owned 0755 directory as a local PersistentVolume (kind's local-path directories are 0777,
    # which would hide a missing fsGroup); pre-bound to the replica's claim
    path = f"/var/lib/llamanet-e2e/{ns_a}"
    run(
        [
            "docker",
            "exec",
            kube.node_container,
            "sh",
            "-c",
            f"mkdir -p {path} && chown 0:0 {path} && chmod 0755 {path}",
        ]
    )
    pv = f"root-owned-{ns_a}"[:63]
    kube.apply(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": pv},
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "llamanet-root-owned",
                    "claimRef": {"namespace": ns_a, "name": "data-rootvol-0"},
                    "local": {"path": path},
                    "nodeAffinity": {
                        "required": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {
                                            "key": "kubernetes.io/hostname",
                                            "operator": "In",
                                            "values": [the_node(kube)],
                                        }
                                    ]
                                }
                            ]
                        }
                    },
                },
            }
        )
    )
    try:
        storage = {"size": "1Gi", "storageClassName": "llamanet-root-owned"}
        kube.apply(llamanode("rootvol", model_server.model(SMOL), replicas=1, storage=storage), ns_a)
        wait_for(
            "rootvol ready on the root-owned volume", lambda: ready_with(kube, ns_a, "rootvol", 1), 420, 3
        )
        assert kube.json("get", "pvc", "-n", ns_a, "data-rootvol-0")["spec"]["volumeName"] == pv
        owner = run(["docker", "exec", kube.node_container, "stat", "-c", "%u:%g", path]).stdout.strip()
        assert owner == "0:10001", owner  # the kubelet handed the root-owned directory to the pods' group
        assert kube.exec_in_pod(ns_a, "rootvol-0", "id", "-u").strip() == "10001"

        # a restarted pod comes back with the same DHT identity (its key lives on that volume)
        before, uid = node_id(kube, ns_a, "rootvol-0"), pod_uid(kube, ns_a, "rootvol-0")
        kube.kubectl("delete", "pod", "-n", ns_a, "rootvol-0", "--wait=false")
        wait_for(
            "rootvol-0 to come back ready",
            lambda: pod_uid(kube, ns_a, "rootvol-0") != uid and ready_with(kube, ns_a, "rootvol", 1),
            420,
            3,
        )
        assert node_id(kube, ns_a, "rootvol-0") == before
    finally:
        kube.kubectl("delete", "llamanode", "-n", ns_a, "rootvol", "--wait=true", timeout=300, check=False)
        wait_for("rootvol's children to be gone", lambda: not children_left(kube, ns_a, "rootvol"), 300, 2)
        kube.kubectl("delete", "pv", pv, "--wait=true", check=False)
        run(["docker", "exec", kube.node_container, "rm", "-rf", path], check=False)


def kubectl_both(cluster: Cluster, *args: str) -> str:
    """stdout and stderr of a kubectl call (server-side warnings come on stderr)."""
    proc = run([kubectl_binary(), "--kubeconfig", str(cluster.kubeconfig), *args], check=False)
    return proc.stdout + proc.stderr


def test_helm_test_passes_and_an_upgrade_keeps_llamanodes_serving(
    operator_a: Cluster, product_images: dict[str, str], model_server: ModelServer, tmp_path: Path
) -> None:
    kube = operator_a
    spec = json.loads(llamanode("helmsmol", model_server.model(SMOL), replicas=1))["spec"]
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"llamaNodes": [{"name": "helmsmol", "spec": spec}]}))
    try:
        install_operator(kube, product_images, ["-f", str(values)])
        wait_for("helmsmol ready", lambda: ready_with(kube, OPERATOR_NAMESPACE, "helmsmol", 1), 420, 3)
        out = helm(kube, "test", RELEASE, "-n", OPERATOR_NAMESPACE, "--logs", "--timeout", "5m")
        assert "Succeeded" in out, out
        assert SMOL in out, out  # the test pod printed the models it got

        # every pod of the release's namespace would pass "restricted" (the API server says which do not)
        warnings = kubectl_both(
            kube,
            "label",
            "--dry-run=server",
            "--overwrite",
            "namespace",
            OPERATOR_NAMESPACE,
            *RESTRICTED_LABELS,
        )
        assert "violate" not in warnings, warnings

        before = pod_uid(kube, OPERATOR_NAMESPACE, "helmsmol-0")
        install_operator(kube, product_images, ["-f", str(values), "--set", "operator.observeInterval=6"])
        assert operator_pod(kube) is not None
        deploy = kube.json("get", "deployment", "-n", OPERATOR_NAMESPACE, f"{RELEASE}-operator")
        env = {e["name"]: e.get("value") for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["LLAMANET_OPERATOR_OBSERVE_INTERVAL"] == "6"
        # the LlamaNode kept serving: same pod, never restarted, still Ready, helm test passes again
        assert pod_uid(kube, OPERATOR_NAMESPACE, "helmsmol-0") == before
        pod = kube.json("get", "pod", "-n", OPERATOR_NAMESPACE, "helmsmol-0")
        assert all(c["restartCount"] == 0 for c in pod["status"]["containerStatuses"])
        assert ready_with(kube, OPERATOR_NAMESPACE, "helmsmol", 1) is not None
        helm(kube, "test", RELEASE, "-n", OPERATOR_NAMESPACE, "--timeout", "5m")
    finally:
        install_operator(kube, product_images)  # back to the suite's release: helm deletes helmsmol
        wait_for(
            "helmsmol's children to be gone",
            lambda: not children_left(kube, OPERATOR_NAMESPACE, "helmsmol"),
            300,
            2,
        )


def scaled_events(cluster: Cluster, ns: str, name: str) -> list[str]:
    events = cluster.json("get", "events", "-n", ns, "--field-selector", "reason=Scaled")["items"]
    return [e["message"] for e in events if e["involvedObject"]["name"] == name]


def test_autoscaling_follows_the_queue_up_and_back_down(
    operator_a: Cluster, ns_a: str, model_server: ModelServer, product_images: dict[str, str]
) -> None:
    kube = operator_a
    auto = {"minReplicas": 1, "maxReplicas": 2, "targetQueuePerReplica": 1, "scaleDownDelaySeconds": 20}
    engine = {"contextSize": 1024, "threads": 1, "parallel": 1}  # one slot: a burst queues
    kube.apply(llamanode("auto", model_server.model(SMOL), replicas=1, autoscaling=auto, engine=engine), ns_a)
    obj = wait_for("auto ready", lambda: ready_with(kube, ns_a, "auto", 1), 420, 3)
    assert obj["status"]["autoscaling"]["desiredReplicas"] == 1

    start_pod(kube, ns_a, "burst", product_images["node"], BURST_SCRIPT, obj["status"]["endpoint"], SMOL, "6")
    wait_for(
        "the queue to scale auto to 2", lambda: get_ln(kube, ns_a, "auto")["spec"]["replicas"] == 2, 240, 2
    )
    wait_for(
        "the StatefulSet to follow",
        lambda: kube.json("get", "statefulset", "-n", ns_a, "auto")["spec"]["replicas"] == 2,
        60,
        2,
    )
    assert any("1 -> 2" in m for m in scaled_events(kube, ns_a, "auto"))
    burst = pod_result(kube, ns_a, "burst")
    assert burst["ok"] == 6, burst

    # idle for scaleDownDelaySeconds: back to one replica, one Event per change
    wait_for("auto to scale back to 1", lambda: get_ln(kube, ns_a, "auto")["spec"]["replicas"] == 1, 300, 3)
    status = get_ln(kube, ns_a, "auto")["status"]["autoscaling"]
    assert status["desiredReplicas"] == 1 and status["lastScaleTime"]
    assert any("2 -> 1" in m for m in scaled_events(kube, ns_a, "auto"))

    # without spec.autoscaling, kubectl scale is left alone
    kube.kubectl(
        "patch",
        "llamanode",
        "-n",
        ns_a,
        "auto",
        "--type=json",
        "-p",
        '[{"op": "remove", "path": "/spec/autoscaling"}]',
    )
    kube.kubectl("scale", "llamanode", "-n", ns_a, "auto", "--replicas=2")
    wait_for("2 ready replicas after kubectl scale", lambda: ready_with(kube, ns_a, "auto", 2), 420, 3)
    assert get_ln(kube, ns_a, "auto")["spec"]["replicas"] == 2


def test_rolling_update_with_zero_failed_requests(
    operator_a: Cluster, ns_a: str, model_server: ModelServer, product_images: dict[str, str]
) -> None:
    kube = operator_a
    kube.apply(llamanode("roll", model_server.model(SMOL), replicas=2), ns_a)
    obj = wait_for("roll ready", lambda: ready_with(kube, ns_a, "roll", 2), 420, 3)
    uids = {p: pod_uid(kube, ns_a, p) for p in ("roll-0", "roll-1")}
    start_pod(kube, ns_a, "loop", product_images["node"], LOOP_SCRIPT, obj["status"]["endpoint"], SMOL)
    wait_for(
        "the client's first answer",
        lambda: (
            kubectl_both(kube, "exec", "-n", ns_a, "loop", "--", "ls", "/tmp/started").strip()
            == "/tmp/started"
        ),
        120,
        2,
    )

    # a pod template change rolls both pods, one at a time
    patch = json.dumps({"spec": {"env": [{"name": "ROLL", "value": "1"}]}})
    kube.kubectl("patch", "llamanode", "-n", ns_a, "roll", "--type=merge", "-p", patch)

    def rolled() -> bool:
        sts = kube.json("get", "statefulset", "-n", ns_a, "roll")
        status = sts["status"]
        return (
            status.get("observedGeneration") == sts["metadata"]["generation"]
            and status.get("updateRevision") == status.get("currentRevision")
            and status.get("updatedReplicas") == 2
            and status.get("readyReplicas") == 2
            and all(pod_uid(kube, ns_a, p) != uid for p, uid in uids.items())
        )

    wait_for("the rolling update to finish", rolled, 600, 3)
    kube.exec_in_pod(ns_a, "loop", "touch", "/tmp/stop")
    result = pod_result(kube, ns_a, "loop")
    assert result["ok"] > 0 and result["failed"] == 0, result


def can_i(cluster: Cluster, who: str, *args: str) -> str:
    return kubectl_both(cluster, "auth", "can-i", *args, f"--as={who}").strip().splitlines()[-1]


def test_namespace_scoped_release_beside_the_cluster_scoped_one(
    operator_a: Cluster, ns_a: str, model_server: ModelServer, product_images: dict[str, str]
) -> None:
    kube = operator_a
    release = "llamanet-ns"
    repo, tag = product_images["operator"].rsplit(":", 1)
    try:
        # the cluster-scoped release leaves ns_a to the namespace-scoped one
        install_operator(kube, product_images, ["--set", f"operator.excludeNamespaces={{{ns_a}}}"])
        helm(
            kube, "upgrade", "--install", release, str(ROOT / "charts" / "llamanet"), "--namespace", ns_a,
            "--skip-crds", "--wait", "--timeout", "5m",
            "--set", f"operator.image.repository={repo}", "--set", f"operator.image.tag={tag}",
            "--set", "operator.image.pullPolicy=Never",
            "--set", f"operator.nodeImage={product_images['node']}",
            "--set", "operator.scope=namespace", "--set", "operator.observeInterval=5",
        )  # fmt: skip
        kube.apply(llamanode("scoped", model_server.model(SMOL), replicas=1), ns_a)
        wait_for("scoped ready", lambda: ready_with(kube, ns_a, "scoped", 1), 420, 3)

        # only the namespace-scoped operator reconciled it
        ns_logs = kube.kubectl("logs", "-n", ns_a, f"deployment/{release}-operator", "--tail=-1")
        cluster_logs = kube.kubectl(
            "logs", "-n", OPERATOR_NAMESPACE, f"deployment/{RELEASE}-operator", "--tail=-1"
        )
        assert f"{ns_a}/scoped" in ns_logs
        assert f"{ns_a}/scoped" not in cluster_logs

        # least privilege: no Secret anywhere, no pod outside its namespace
        scoped = f"system:serviceaccount:{ns_a}:{release}"
        cluster_wide = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{RELEASE}"
        assert can_i(kube, scoped, "list", "pods", "-n", ns_a) == "yes"
        assert can_i(kube, scoped, "list", "pods", "-n", "kube-system") == "no"
        assert can_i(kube, scoped, "patch", "statefulsets", "-n", "default") == "no"
        for who in (scoped, cluster_wide):
            for where in (ns_a, "kube-system"):
                assert can_i(kube, who, "get", "secrets", "-n", where) == "no", (who, where)
    finally:
        kube.kubectl("delete", "llamanode", "-n", ns_a, "scoped", "--wait=true", timeout=300, check=False)
        helm(kube, "uninstall", release, "-n", ns_a, "--wait", "--timeout", "3m")
        install_operator(kube, product_images)
