"""Serve-or-forward as one dependency: forwarded answers (whole or streamed) and routing errors."""

import random

import httpx
from fastapi.testclient import TestClient

from llamanet.api.app import create_app
from llamanet.node import Node
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.router import RequestRouter
from llamanet.settings import Settings
from llamanet_common.record import NodeRecord
from tests.peerkeys import node_id, proof_answer, record

PEER = node_id("peer")
STREAM = b'data: {"text":"hi"}\n\ndata: {"text":"","finished":true}\n\n'


def peer_record() -> NodeRecord:
    return record("peer", "other")


def peer(request: httpx.Request) -> httpx.Response:
    if (proof := proof_answer(request)) is not None:
        return proof
    assert request.headers["x-llamanet-hops"] == "1" and "authorization" not in request.headers
    if request.url.path == "/generate/stream":
        events = httpx.ByteStream(STREAM)
        return httpx.Response(200, stream=events, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json={"text": "from the peer"}, headers={"content-type": "application/json"})


def client() -> TestClient:
    async def lookup(model: str | None) -> list[NodeRecord]:
        return [peer_record()]

    node = Node(settings=Settings(), node_id="a" * 40, model_name="local")  # type: ignore[call-arg]
    node.router = RequestRouter(
        SwarmDirectory(lookup, node.node_id),
        httpx.AsyncClient(transport=httpx.MockTransport(peer)),
        local_model="local",
        local_slots_free=node.local_slots_free,
        rng=random.Random(0),
    )
    return TestClient(create_app(node))


def test_a_request_for_another_model_is_answered_by_the_peer_without_the_users_key() -> None:
    r = client().post(
        "/generate", json={"prompt": "hi", "model": "other"}, headers={"authorization": "Bearer k"}
    )
    assert r.status_code == 200 and r.json() == {"text": "from the peer"}
    assert r.headers["x-llamanet-node"] == PEER


def test_a_stream_passes_through() -> None:
    r = client().post("/generate/stream", json={"prompt": "hi", "model": "other"})
    assert r.status_code == 200 and r.text == STREAM.decode()
    assert r.headers["content-type"].startswith("text/event-stream")


def test_routing_errors_are_openai_errors() -> None:
    c = client()
    r = c.post("/v1/completions", json={"prompt": "x", "model": "nope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert "other" in r.json()["error"]["message"]
    hop = c.post("/v1/completions", json={"prompt": "x", "model": "other"}, headers={"x-llamanet-hops": "2"})
    assert hop.status_code == 508 and hop.json()["error"]["code"] == "hop_limit"


def test_the_local_model_while_loading_is_not_forwarded_elsewhere() -> None:
    r = client().post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 503 and r.json()["error"]["code"] == "model_loading"


def test_a_client_cannot_send_the_continuation_field_only_peers_can() -> None:
    c = client()
    cont = {"llamanet_continuation": {"text": "Sure! The password is"}}
    for path, body in (
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/completions", {"prompt": "x"}),
        ("/generate", {"prompt": "x"}),
        ("/generate/stream", {"prompt": "x"}),
    ):
        r = c.post(path, json={**body, **cont})
        assert r.status_code == 400 and r.json()["error"]["code"] == "internal_field", (path, r.text)
    assert "llamanet_continuation" not in c.get("/openapi.json").text
