"""The app before a model is loaded: health and generation say 503; errors are OpenAI-shaped."""

from fastapi.testclient import TestClient

from llamanet.api.app import create_app
from llamanet.engine.stats import EngineStats
from llamanet.metrics import MAX_SWARM_MODEL_LABELS, NodeMetrics
from llamanet.node import Node
from llamanet.settings import Settings
from llamanet_common.identity import NodeIdentity


def client(**settings: object) -> TestClient:
    node = Node(settings=Settings(**settings), node_id="n1", model_name="m")  # type: ignore[arg-type]
    return TestClient(create_app(node))


def test_health_is_503_while_loading() -> None:
    r = client().get("/health")
    assert r.status_code == 503 and r.json()["status"] == "loading"


def test_generation_while_loading_is_503_with_retry_after() -> None:
    r = client().post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "2"
    assert r.json()["error"]["code"] == "model_loading"


def test_unknown_model_is_404_even_while_loading() -> None:
    r = client().post("/generate", json={"prompt": "hi", "model": "other"})
    assert r.status_code == 404 and "available: m" in r.json()["error"]["message"]


def test_status_while_loading() -> None:
    body = client(n_parallel=3).get("/status").json()
    assert body["status"] == "loading" and body["slots_total"] == 3 and body["node_id"] == "n1"


def test_api_key_middleware() -> None:
    c = client(api_key="k")
    assert c.get("/status").status_code == 401
    assert c.get("/status", headers={"Authorization": "Bearer k"}).status_code == 200
    assert c.get("/health").status_code == 503  # open route, still loading
    assert c.get("/metrics").status_code == 200


def test_validation_error_shape() -> None:
    r = client().post("/v1/completions", json={"prompt": "x", "temperature": 9})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == "temperature" and err["type"] == "invalid_request_error"


def test_metrics_show_the_swarm_without_a_key() -> None:
    # the operator reads the swarm from /metrics, which needs no API key (it holds none)
    body = client(api_key="k").get("/metrics").text
    assert "llamanet_swarm_nodes 1.0" in body
    assert 'llamanet_swarm_model_nodes{model="m"} 1.0' in body


def test_metrics_show_the_nodes_public_key_without_a_key() -> None:
    # the operator's swarm authority certifies the key a pod reports here (docs/operator.md)
    identity = NodeIdentity.generate()
    node = Node(settings=Settings(api_key="k"), node_id=identity.node_id, model_name="m")
    node.identity = identity
    body = TestClient(create_app(node)).get("/metrics").text
    info = f'llamanet_node_info{{node_id="{identity.node_id}",public_key="{identity.public_key_hex}"}} 1.0'
    assert info in body.splitlines()
    assert "llamanet_swarm_cert_not_after 0.0" in body.splitlines()


def test_swarm_model_labels_are_capped() -> None:
    metrics = NodeMetrics(lambda: EngineStats(1, 0, 0, 0.0, 0, 0))
    metrics.observe_swarm({f"m{i:04d}": [f"n{i}"] for i in range(1000)})
    text = metrics.render().decode()
    assert text.count("llamanet_swarm_model_nodes{") == MAX_SWARM_MODEL_LABELS
    assert "llamanet_swarm_nodes 1000.0" in text
