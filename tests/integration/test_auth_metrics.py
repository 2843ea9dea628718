"""API key protection and Prometheus metrics."""

import httpx
import pytest

from llamanet_operator.kube import Kube
from llamanet_operator.scrape import parse_metrics
from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def locked(session_nodes: Nodes) -> NodeProcess:
    return session_nodes.start(
        SMOL, "--n-ctx", "512", "--n-parallel", "1", "--api-key", "s3cret", name="locked"
    )


def test_key_required_except_health_and_metrics(locked: NodeProcess) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        r = httpx.post(f"{locked.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(f"{locked.url}/status", timeout=10).status_code == 401
    ok = httpx.post(
        f"{locked.url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer s3cret"}, timeout=60
    )
    assert ok.status_code == 200
    assert httpx.get(f"{locked.url}/health", timeout=10).status_code == 200
    assert httpx.get(f"{locked.url}/metrics", timeout=10).status_code == 200


def test_metrics_after_requests(smol: NodeProcess) -> None:
    httpx.post(f"{smol.url}/generate", json={"prompt": "Hi", "max_tokens": 8}, timeout=60)
    text = httpx.get(f"{smol.url}/metrics", timeout=10).text
    for name in (
        "llamanet_time_to_first_token_seconds_bucket",
        "llamanet_time_per_output_token_seconds_count",
        "llamanet_completion_tokens_total",
        "llamanet_queue_depth",
        "llamanet_slots_busy",
        'llamanet_requests_total{route="/generate",status="200"}',
    ):
        assert name in text, name
    count = [ln for ln in text.splitlines() if ln.startswith("llamanet_time_to_first_token_seconds_count")]
    assert float(count[0].split()[-1]) >= 1


def test_status_and_info(smol: NodeProcess) -> None:
    s = httpx.get(f"{smol.url}/status", timeout=10).json()
    for key in ("node_id", "model", "load", "queue_depth", "tokens_per_second", "uptime", "slots_total"):
        assert key in s
    assert s["model"] == SMOL and s["slots_total"] == 8
    i = httpx.get(f"{smol.url}/info", timeout=10).json()
    assert i["chat_format"] == "gguf" and i["n_ctx"] == 1024


def test_the_operator_reads_a_locked_nodes_metrics_without_its_key(locked: NodeProcess) -> None:
    # the operator holds no API key (it never reads Secrets): /metrics gives it the load and the swarm
    text = Kube("test", http_timeout=10.0).get_text(f"{locked.url}/metrics", max_bytes=1024 * 1024)
    assert text is not None
    sample = parse_metrics(text)
    assert sample is not None
    assert (sample.slots_total, sample.queue_depth, sample.swarm_nodes) == (1, 0, 1)
    assert sample.models == [SMOL]
