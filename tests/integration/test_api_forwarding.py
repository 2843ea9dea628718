"""Ollama's API and the Responses API go through the swarm: an entry node serving another model forwards
requests for SmolLM2 to the node serving it (streams included), and answers routing errors in the
route's own error shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import ollama
import openai
import pytest

from tests.integration.conftest import SMOL, Nodes

pytestmark = [pytest.mark.model, pytest.mark.slow]
ARGS = ("--n-ctx", "512", "--n-parallel", "2", "--heartbeat-interval", "1", "--max-tokens-default", "16")
ENTRY_MODEL = "entry-model"  # the entry serves SmolLM2 under another name: SMOL requests are forwarded
QUESTION = [{"role": "user", "content": "What is the capital of France? One sentence."}]


def serving(entry: str, model: str) -> set[str]:
    for m in httpx.get(f"{entry}/v1/models", timeout=10).json()["data"]:
        if m["id"] == model:
            return set(m["meta"]["nodes"])
    return set()


@pytest.fixture(scope="module")
def pair(node_logs: Path, model_cache: object, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    entry = nodes.start(SMOL, *ARGS, "--model-name", ENTRY_MODEL, name="api-entry")
    real = nodes.start(SMOL, *ARGS, "--bootstrap-nodes", f"127.0.0.1:{entry.dht_port}", name="api-real")
    real_id = httpx.get(f"{real.url}/status", timeout=10).json()["node_id"]
    deadline = time.monotonic() + 60  # liveness bound for a loaded machine
    while real_id not in serving(entry.url, SMOL):
        assert time.monotonic() < deadline, "the entry never learnt of the SmolLM2 node"
        time.sleep(0.2)
    yield {"entry": entry.url, "real_id": real_id}
    nodes.stop_all(request.session.testsfailed > failed_before)


def test_ollama_chat_is_forwarded_streamed_and_not(pair: dict[str, str]) -> None:
    client = ollama.Client(host=pair["entry"], timeout=120)
    whole = client.chat(SMOL, messages=QUESTION, stream=False, options={"temperature": 0, "num_predict": 24})
    assert whole.model == SMOL and "Paris" in (whole.message.content or "")
    parts = list(
        client.chat(SMOL, messages=QUESTION, stream=True, options={"temperature": 0, "num_predict": 24})
    )
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert "".join(p.message.content or "" for p in parts) == whole.message.content
    assert parts[-1].eval_count == whole.eval_count
    body = {"model": SMOL, "prompt": "Hi", "options": {"num_predict": 3}}
    with httpx.stream("POST", f"{pair['entry']}/api/generate", json=body, timeout=60) as r:
        assert r.status_code == 200 and r.headers["x-llamanet-node"] == pair["real_id"]
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert lines[-1]["done"] is True and lines[-1]["eval_count"] == 3


def test_ollama_show_and_tags_see_the_swarm(pair: dict[str, str]) -> None:
    client = ollama.Client(host=pair["entry"], timeout=60)
    assert sorted(m.model or "" for m in client.list().models) == sorted([ENTRY_MODEL, SMOL])
    shown = client.show(SMOL)  # answered by the node serving it
    assert shown.modelinfo is not None and shown.modelinfo["general.name"] == SMOL
    assert [m.model for m in client.ps().models] == [ENTRY_MODEL]  # what the entry itself runs


def test_ollama_routing_errors_are_ollama_shaped(pair: dict[str, str]) -> None:
    client = ollama.Client(host=pair["entry"], timeout=60)
    for stream in (False, True):
        with pytest.raises(ollama.ResponseError) as missing:
            if stream:
                list(client.chat("no-such-model", messages=QUESTION, stream=True))
            else:
                client.chat("no-such-model", messages=QUESTION, stream=False)
        assert missing.value.status_code == 404
        assert isinstance(missing.value.error, str) and SMOL in missing.value.error  # names the models
    # a refusal by the serving node comes back as it gave it
    r = httpx.post(
        f"{pair['entry']}/api/chat",
        json={"model": SMOL, "messages": QUESTION, "options": {"mirostat": 1}},
        timeout=60,
    )
    assert r.status_code == 400 and r.headers["x-llamanet-node"] == pair["real_id"]
    assert "mirostat" in r.json()["error"]


def test_responses_are_forwarded_streamed_and_not(pair: dict[str, str]) -> None:
    client = openai.OpenAI(base_url=f"{pair['entry']}/v1", api_key="unused", max_retries=0)
    raw = client.responses.with_raw_response.create(
        model=SMOL, input=QUESTION[0]["content"], max_output_tokens=30, temperature=0
    )
    assert raw.headers["x-llamanet-node"] == pair["real_id"]
    whole = raw.parse()
    assert whole.model == SMOL and "Paris" in whole.output_text
    with client.responses.stream(
        model=SMOL, input=QUESTION[0]["content"], max_output_tokens=30, temperature=0
    ) as s:
        kinds = [e.type for e in s]
        final = s.get_final_response()
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-1] == "response.completed"
    assert final.output_text == whole.output_text
    assert final.usage is not None and whole.usage is not None
    assert final.usage.output_tokens == whole.usage.output_tokens


def test_responses_routing_errors_are_openai_shaped(pair: dict[str, str]) -> None:
    client = openai.OpenAI(base_url=f"{pair['entry']}/v1", api_key="unused", max_retries=0)
    for stream in (False, True):
        with pytest.raises(openai.NotFoundError) as missing:
            client.responses.create(model="no-such-model", input="hi", stream=stream)
        assert missing.value.code == "model_not_found" and SMOL in missing.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=SMOL, input="hi", previous_response_id="resp_1")
    assert refused.value.response.headers["x-llamanet-node"] == pair["real_id"]
