"""Ollama's and the Responses API's routes before a model is loaded, in process: each API's error shape,
the loading 503 with Retry-After, listings that do not need the engine."""

from fastapi.testclient import TestClient

from llamanet.api.app import create_app
from llamanet.node import Node
from llamanet.settings import Settings

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def client() -> TestClient:
    return TestClient(create_app(Node(settings=Settings(), node_id="n1", model_name="m")))


def test_ollama_errors_are_a_string_under_error() -> None:
    c = client()
    loading = c.post("/api/chat", json=CHAT)
    assert loading.status_code == 503 and loading.headers["Retry-After"] == "2"
    assert loading.json() == {"error": "the model is still loading"}
    missing = c.post("/api/generate", json={"model": "other", "prompt": "hi"})
    assert missing.status_code == 404 and "available: m" in missing.json()["error"]
    for bad in ({"model": "m", "options": {"temperature": 9}}, {"model": ""}, {}):
        r = c.post("/api/chat", json=bad)
        assert r.status_code == 400 and isinstance(r.json()["error"], str), r.text
    r = c.post("/api/chat", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json() == {"error": "the request body is not valid JSON"}
    assert c.post("/api/show", json={}).json() == {"error": "model is required"}


def test_ollama_listings_while_loading() -> None:
    c = client()
    tags = c.get("/api/tags").json()["models"]
    assert [(m["name"], m["details"]["format"]) for m in tags] == [("m", "gguf")] and "size" not in tags[0]
    assert c.get("/api/ps").json() == {"models": []}
    assert c.get("/api/version").json()["version"]


def test_responses_errors_are_openai_shaped() -> None:
    c = client()
    r = c.post("/v1/responses", json={"model": "m", "input": "hi"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "model_loading"
    r = c.post("/v1/responses", json={"model": "m", "input": []})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
