"""One site, as a user runs it (issue 8): chart installed, a LlamaNode, the OpenAI SDK from a pod.

The model comes over HTTP from outside the cluster (a file server on this host) and is downloaded by
the init container with its sha256 checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from e2e.conftest import kind_sh
from e2e.kube import GPU, Cluster, wait_for
from e2e.product import ModelServer, build_openai_client, chat_in_cluster, condition, llamanode, run_pod
from e2e.test_operator import SMOL, children_left, get_ln, ready_with


@pytest.fixture(scope="module")
def openai_client(operator_a: Cluster, product_images: dict[str, str]) -> str:
    image = build_openai_client(product_images["node"])
    kind_sh("load", operator_a.name, image, timeout=900)
    return image


def chat_through_proxy(cluster: Cluster, ns: str, service: str, port: int, model: str) -> dict[str, Any]:
    """POST /v1/chat/completions to a Service through the API server's proxy (from outside the cluster)."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}
    path = f"/api/v1/namespaces/{ns}/services/{service}:{port}/proxy/v1/chat/completions"
    out: dict[str, Any] = json.loads(
        cluster.kubectl("create", "--raw", path, "-f", "-", input=json.dumps(body))
    )
    return out


def test_llamanode_serves_the_openai_sdk_in_cluster_scales_and_heals(
    operator_a: Cluster,
    ns_a: str,
    model_server: ModelServer,
    openai_client: str,
    product_images: dict[str, str],
) -> None:
    kube = operator_a
    kube.apply(llamanode("smol", model_server.model(SMOL), replicas=2), ns_a)
    obj = wait_for("2 ready replicas in one swarm", lambda: ready_with(kube, ns_a, "smol", 2), 420, 3)
    assert condition(obj, "Available")["status"] == "True"
    endpoint = obj["status"]["endpoint"]

    # an application pod uses the official SDK against the in-cluster endpoint, streaming and not
    logs = run_pod(kube, ns_a, "sdk", openai_client, [endpoint, SMOL])
    result = json.loads(logs.strip().splitlines()[-1])
    assert result["models"] == [SMOL]
    assert result["answer"].strip() and result["finish_reason"] in ("stop", "length")
    assert result["stream_chunks"] > 1
    assert result["streamed"] == result["answer"], "greedy decoding gives the same text streamed or not"

    kube.kubectl("scale", "llamanode", "-n", ns_a, "smol", "--replicas=3")
    wait_for("3 ready replicas in one swarm", lambda: ready_with(kube, ns_a, "smol", 3), 420, 3)

    # a deleted pod comes back (same name, same volume) and rejoins the swarm
    old_uid = kube.json("get", "pod", "-n", ns_a, "smol-1")["metadata"]["uid"]
    kube.kubectl("delete", "pod", "-n", ns_a, "smol-1", "--wait=false")

    def healed() -> bool:
        pod = kube.json("get", "pod", "-n", ns_a, "smol-1")
        return pod["metadata"]["uid"] != old_uid and ready_with(kube, ns_a, "smol", 3) is not None

    wait_for("smol-1 to come back and rejoin", healed, 420, 3)
    answer = chat_in_cluster(kube, ns_a, endpoint, SMOL, product_images["node"])["answer"]
    assert (answer["choices"][0]["message"]["content"] or "").strip(), answer  # "" is no answer

    kube.kubectl("delete", "llamanode", "-n", ns_a, "smol", "--wait=true", timeout=300)
    wait_for("every child to be gone", lambda: not children_left(kube, ns_a, "smol"), 300, 2)


def test_gpu_llamanode_waits_unscheduled_until_a_node_advertises_gpus(
    operator_a: Cluster, ns_a: str, model_server: ModelServer, product_images: dict[str, str]
) -> None:
    kube = operator_a
    kube.apply(llamanode("gpu", model_server.model(SMOL), replicas=1, resources={"gpus": 1}), ns_a)

    def waiting() -> dict[str, Any] | None:
        obj = get_ln(kube, ns_a, "gpu")
        degraded = condition(obj, "Degraded")
        if degraded.get("reason") != "InsufficientCapacity":
            return None
        return obj if kube.unschedulable_for_gpus(ns_a, "gpu-0") else None

    obj = wait_for("the GPU LlamaNode to wait, unscheduled, with a clear condition", waiting, 180, 2)
    assert GPU in condition(obj, "Degraded")["message"]
    sts = kube.json("get", "statefulset", "-n", ns_a, "gpu")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"][GPU] in (1, "1")
    assert {"name": "N_GPU_LAYERS", "value": "-1"} in container["env"]
    assert container["image"] == product_images["node"]  # operator.nodeImageCuda (product.install_operator)

    try:
        kube.advertise_gpus(1)
        obj = wait_for(
            "the GPU LlamaNode to schedule and serve", lambda: ready_with(kube, ns_a, "gpu", 1), 420, 3
        )
        assert condition(obj, "Degraded")["status"] == "False"
        answer = chat_in_cluster(kube, ns_a, obj["status"]["endpoint"], SMOL, product_images["node"])[
            "answer"
        ]
        assert answer["model"] == SMOL and answer["choices"][0]["message"]["content"]
        # the advertised GPU is a status patch, the image a CPU build: one line, then it serves on CPU
        logs = kube.kubectl("logs", "-n", ns_a, "gpu-0", "-c", "node", "--tail=-1")
        assert logs.count("N_GPU_LAYERS=-1 but no GPU: this llama.cpp build has no GPU backend") == 1, logs
    finally:
        kube.kubectl("delete", "llamanode", "-n", ns_a, "gpu", "--wait=true", timeout=300, check=False)
        kube.withdraw_gpus()
