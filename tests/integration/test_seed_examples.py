"""The seed README's examples, as written there, against a running node."""

import json

import pytest
import requests

from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model


def test_native_non_streaming(smol: NodeProcess) -> None:
    response = requests.post(
        f"{smol.url}/generate",
        json={
            "prompt": "What is artificial intelligence?",
            "max_tokens": 150,
            "temperature": 0.7,
        },
        timeout=120,
    )
    text = response.json()["text"]
    assert response.status_code == 200 and len(text.split()) >= 3
    body = response.json()
    assert body["tokens_generated"] > 0 and body["node_id"] and body["generation_time"] > 0


def test_native_streaming(smol: NodeProcess) -> None:
    response = requests.post(
        f"{smol.url}/generate/stream",
        json={
            "prompt": "Explain quantum computing",
            "max_tokens": 200,
            "temperature": 0.7,
        },
        stream=True,
        timeout=120,
    )
    pieces, final = [], None
    for line in response.iter_lines():
        if line.startswith(b"data: "):
            data = json.loads(line[6:])
            if not data.get("finished"):
                pieces.append(data["text"])
            else:
                # the seed prints f"[Generated {tokens_generated} tokens in {generation_time:.2f}s]"
                final = data
                break
    assert len(pieces) > 3 and "".join(pieces).strip()
    assert final is not None, "the stream ended without its summary event"
    # each text event carries at least one token (plus, at most, one flush of held-back text)
    assert isinstance(final["tokens_generated"], int) and final["tokens_generated"] >= len(pieces) - 1
    assert final["tokens_generated"] <= 200 and final["generation_time"] > 0


def test_openai_direct_http_streaming(smol: NodeProcess) -> None:
    response = requests.post(
        f"{smol.url}/v1/chat/completions",
        json={
            "model": "llamanet",
            "messages": [{"role": "user", "content": "Explain machine learning"}],
            "stream": True,
            "max_tokens": 150,
        },
        stream=True,
        timeout=120,
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    out, done = [], False
    for line in response.iter_lines():
        if line.startswith(b"data: "):
            data_str = line[6:].decode()
            if data_str.strip() == "[DONE]":
                done = True
                break
            data = json.loads(data_str)
            if data["choices"][0]["delta"].get("content"):
                out.append(data["choices"][0]["delta"]["content"])
    assert done and len(out) > 3
