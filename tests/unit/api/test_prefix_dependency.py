"""The prefix key is taken where the body is parsed: chat, completion and native requests with a long
prefix owned by a peer are forwarded there although this node has free slots; short ones stay here."""

import random

import httpx
from fastapi.testclient import TestClient

from llamanet.api.app import create_app
from llamanet.node import Node
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.prefix import PrefixPolicy, chat_text, prefix_key, ranked
from llamanet.routing.router import RequestRouter
from llamanet.settings import Settings
from llamanet_common.record import NodeRecord
from llamanet_common.status import NodeStatus
from tests.peerkeys import node_id, proof_answer, record

SELF, PEER = "a" * 40, node_id("peer")


def peer(request: httpx.Request) -> httpx.Response:
    if (proof := proof_answer(request)) is not None:
        return proof  # the peer proves its record's key before it gets user traffic
    if request.url.path == "/status":
        return httpx.Response(200, json={"status": "ready", "slots_total": 4, "slots_free": 4})
    return httpx.Response(200, json={"text": "from the peer"})


def client() -> TestClient:
    async def lookup(model: str | None) -> list[NodeRecord]:
        return [record("peer", "local")]

    node = Node(settings=Settings(), node_id=SELF, model_name="local")  # type: ignore[call-arg]
    idle = NodeStatus(node_id=SELF, model="local", status="ready", slots_total=4, slots_free=4)
    node.router = RequestRouter(
        SwarmDirectory(lookup, SELF),
        httpx.AsyncClient(transport=httpx.MockTransport(peer)),
        local_model="local",
        local_slots_free=lambda: 4,  # free slots here: only the prefix sends a request away
        rng=random.Random(0),
        prefix=PrefixPolicy(min_chars=512),
        local_status=lambda: idle,
    )
    return TestClient(create_app(node))


def owner(text: str) -> str:
    key = prefix_key(text, 512)
    assert key is not None
    return ranked(key, [SELF, PEER])[0]


def peers_text() -> str:
    """A system prompt the peer owns (between this node and the peer) as a chat and as a prompt."""
    for i in range(1000):
        system = f"You are assistant number {i}. " * 40
        chat = chat_text([("system", system)], 512)
        if owner(chat) == owner(system) == PEER:
            return system
    raise AssertionError("no prompt found")


def test_long_prefixes_owned_by_the_peer_go_there_short_ones_stay() -> None:
    c, system = client(), peers_text()
    chat = {"messages": [{"role": "system", "content": system}, {"role": "user", "content": "hi"}]}
    assert c.post("/v1/chat/completions", json=chat).json() == {"text": "from the peer"}
    parts = {"role": "system", "content": [{"type": "text", "text": system}]}
    assert c.post("/v1/chat/completions", json={"messages": [parts]}).json() == {"text": "from the peer"}
    assert c.post("/v1/completions", json={"prompt": system}).json() == {"text": "from the peer"}
    assert c.post("/v1/completions", json={"prompt": [system, "x"]}).json() == {"text": "from the peer"}
    assert c.post("/generate", json={"prompt": system}).json() == {"text": "from the peer"}
    responses = {"instructions": system, "input": "hi"}
    assert c.post("/v1/responses", json=responses).json() == {"text": "from the peer"}
    items = {"input": [{"role": "system", "content": [{"type": "input_text", "text": system}]}]}
    assert c.post("/v1/responses", json=items).json() == {"text": "from the peer"}
    assert c.post(
        "/api/chat", json={"model": "local", "messages": chat["messages"], "stream": False}
    ).json() == {"text": "from the peer"}
    assert c.post("/api/generate", json={"model": "local", "prompt": system, "stream": False}).json() == {
        "text": "from the peer"
    }
    short = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert short.status_code == 503 and short.json()["error"]["code"] == "model_loading"  # served here


def test_odd_text_in_a_prefix_is_no_500() -> None:
    c = client()
    surrogates = '{"messages": [{"role": "user", "content": "' + "\\ud800" * 600 + '"}]}'
    images = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
    for r in (
        c.post("/v1/chat/completions", content=surrogates, headers={"content-type": "application/json"}),
        c.post("/v1/chat/completions", json=images),
    ):
        assert r.status_code < 500 or r.json()["error"]["code"] == "model_loading", r.text
