"""The real ``ollama`` Python package against a real node serving SmolLM2: chat and generate (NDJSON
streams and single objects), the model listings, and Ollama-shaped errors."""

from __future__ import annotations

import json

import httpx
import ollama
import pytest

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model
QUESTION = [{"role": "user", "content": "What is the capital of France? One sentence."}]


@pytest.fixture(scope="module")
def node(session_nodes: Nodes) -> NodeProcess:
    return session_nodes.start(
        SMOL, "--n-ctx", "512", "--n-parallel", "2", "--max-tokens-default", "16", name="ollama"
    )


@pytest.fixture
def client(node: NodeProcess) -> ollama.Client:
    return ollama.Client(host=node.url, timeout=120)


def assert_done(r: ollama.ChatResponse | ollama.GenerateResponse, max_tokens: int) -> None:
    assert r.done is True and r.done_reason in ("stop", "length")
    assert r.eval_count is not None and 0 < r.eval_count <= max_tokens
    assert r.prompt_eval_count is not None and r.prompt_eval_count > 5
    assert r.total_duration is not None and r.total_duration > 0
    assert r.eval_duration is not None and r.prompt_eval_duration is not None


def test_chat(client: ollama.Client) -> None:
    r = client.chat(SMOL, messages=QUESTION, stream=False, options={"temperature": 0, "num_predict": 24})
    assert r.message.role == "assistant"
    assert "Paris" in (r.message.content or "")
    assert_done(r, 24)


def test_chat_latest_tag_is_the_model(client: ollama.Client) -> None:
    r = client.chat(f"{SMOL}:latest", messages=QUESTION, stream=False, options={"num_predict": 3})
    assert r.model == SMOL and r.eval_count == 3 and r.done_reason == "length"


def test_chat_stream_is_ndjson_with_a_done_line(client: ollama.Client, node: NodeProcess) -> None:
    parts = list(
        client.chat(SMOL, messages=QUESTION, stream=True, options={"temperature": 0, "num_predict": 24})
    )
    assert len(parts) > 2
    assert all(p.done is False for p in parts[:-1]) and parts[-1].done is True
    assert all(p.message.role == "assistant" for p in parts)
    text = "".join(p.message.content or "" for p in parts)
    assert "Paris" in text
    assert_done(parts[-1], 24)
    # the same answer, not streamed (greedy): the stream's pieces add up to it
    whole = client.chat(SMOL, messages=QUESTION, stream=False, options={"temperature": 0, "num_predict": 24})
    assert whole.message.content == text
    # streaming is the default of the wire format, one JSON object per line
    body = {"model": SMOL, "messages": QUESTION, "options": {"num_predict": 4}}
    with httpx.stream("POST", f"{node.url}/api/chat", json=body, timeout=60) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert [x["done"] for x in lines] == [False] * (len(lines) - 1) + [True]
    assert lines[-1]["eval_count"] == 4


def test_generate(client: ollama.Client) -> None:
    r = client.generate(SMOL, "What is the capital of France? One sentence.", options={"temperature": 0})
    assert isinstance(r, ollama.GenerateResponse)
    assert "Paris" in (r.response or "")
    assert_done(r, 16)  # the node's --max-tokens-default


def test_generate_stream_raw_and_system(client: ollama.Client) -> None:
    parts = list(client.generate(SMOL, "1, 2, 3, 4,", raw=True, stream=True, options={"num_predict": 6}))
    assert parts[-1].done and parts[-1].eval_count == 6 and parts[-1].done_reason == "length"
    assert "5" in "".join(p.response or "" for p in parts)
    r = client.generate(
        SMOL,
        "What is your name?",
        system="You are a pirate called Captain Hook. Always say your name.",
        options={"temperature": 0, "num_predict": 30},
    )
    assert "Captain" in (r.response or "")  # the system turn reached the model


def test_logprobs(client: ollama.Client) -> None:
    r = client.chat(
        SMOL, messages=QUESTION, stream=False, logprobs=True, top_logprobs=2, options={"num_predict": 5}
    )
    assert r.logprobs is not None and len(r.logprobs) == r.eval_count == 5
    assert "".join(lp.token for lp in r.logprobs) == r.message.content
    assert all(lp.logprob <= 0 and len(lp.top_logprobs or []) == 2 for lp in r.logprobs)
    parts = list(client.generate(SMOL, "Hi", stream=True, logprobs=True, options={"num_predict": 3}))
    assert sum(len(p.logprobs or []) for p in parts) == 3


def test_format_json_schema_is_a_grammar(client: ollama.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    r = client.chat(
        SMOL,
        messages=[{"role": "user", "content": "Which city is the capital of France? Answer in JSON."}],
        format=schema,
        options={"temperature": 0, "num_predict": 40},
    )
    assert set(json.loads(r.message.content or "")) == {"city"}


def test_empty_messages_load_the_model(client: ollama.Client) -> None:
    r = client.chat(SMOL, messages=[], stream=False)
    assert r.done and r.done_reason == "load" and r.message.content == ""


def test_listings(client: ollama.Client, node: NodeProcess) -> None:
    tags = client.list()
    assert [m.model for m in tags.models] == [SMOL]
    mine = tags.models[0]
    assert mine.size is not None and mine.size > 10_000_000
    assert mine.details is not None and mine.details.format == "gguf" and mine.details.family == "llama"
    running = client.ps()
    assert [m.model for m in running.models] == [SMOL] and running.models[0].context_length == 512
    shown = client.show(SMOL)
    assert shown.modelinfo is not None and shown.modelinfo["general.architecture"] == "llama"
    assert shown.template and "im_start" in shown.template
    assert shown.capabilities == ["completion"]
    version = httpx.get(f"{node.url}/api/version", timeout=10).json()["version"]
    assert version == httpx.get(f"{node.url}/info", timeout=10).json()["version"]


def test_errors_are_ollama_shaped(client: ollama.Client, node: NodeProcess) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        client.chat("no-such-model", messages=QUESTION, stream=False)
    assert missing.value.status_code == 404 and "no-such-model" in str(missing.value.error)
    with pytest.raises(ollama.ResponseError) as streamed_missing:
        list(client.chat("no-such-model", messages=QUESTION, stream=True))
    assert streamed_missing.value.status_code == 404
    refused = {
        "options": {"mirostat": 2},
        "images": ["aGk="],
        "suffix": "end",
        "think": True,
        "context": [1, 2, 3],
    }
    for field, value in refused.items():
        r = httpx.post(
            f"{node.url}/api/generate", json={"model": SMOL, "prompt": "hi", field: value}, timeout=30
        )
        assert r.status_code == 400, (field, r.text)
        error = r.json()["error"]
        assert isinstance(error, str) and "not supported" in error, (field, error)
    for bad in ({"model": SMOL, "messages": "hi"}, {"messages": QUESTION}, {"model": SMOL, "options": 3}):
        r = httpx.post(f"{node.url}/api/chat", json=bad, timeout=30)
        assert r.status_code == 400 and isinstance(r.json()["error"], str), r.text
    r = httpx.post(f"{node.url}/api/chat", content=b"{not json", timeout=30)
    assert r.status_code == 400 and isinstance(r.json()["error"], str)
    with pytest.raises(ollama.ResponseError) as too_long:
        client.chat(SMOL, messages=[{"role": "user", "content": "word " * 700}], stream=False)
    assert too_long.value.status_code == 400
    with pytest.raises(ollama.ResponseError) as no_embeddings:
        client.embed(SMOL, "hello")
    assert no_embeddings.value.status_code == 400 and "embeddings" in str(no_embeddings.value.error)
    # hints are accepted: load-time options, keep_alive, think off, neutral samplers
    r = client.chat(
        SMOL,
        messages=QUESTION,
        stream=False,
        keep_alive="5m",
        think=False,
        options={"num_ctx": 4096, "num_thread": 2, "typical_p": 1.0, "mirostat": 0, "num_predict": 2},
    )
    assert r.eval_count == 2
