"""The ``openai`` SDK's Responses API (``client.responses.create`` and ``responses.stream()``) against a
real node serving SmolLM2: text and message input, instructions, limits, usage, the event sequence."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model
QUESTION = "What is the capital of France? One sentence."
OPENING = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
CLOSING = [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]


@pytest.fixture(scope="module")
def node(session_nodes: Nodes) -> NodeProcess:
    return session_nodes.start(
        SMOL, "--n-ctx", "512", "--n-parallel", "2", "--max-tokens-default", "16", name="responses"
    )


@pytest.fixture
def client(node: NodeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{node.url}/v1", api_key="unused", max_retries=0)


def test_text_input(client: openai.OpenAI) -> None:
    r = client.responses.create(model=SMOL, input=QUESTION, max_output_tokens=40, temperature=0)
    assert r.object == "response" and r.id.startswith("resp_") and r.model == SMOL
    assert "Paris" in r.output_text
    [item] = r.output
    assert item.type == "message" and item.role == "assistant" and item.content[0].type == "output_text"
    assert r.usage is not None and r.usage.input_tokens > 10 and 0 < r.usage.output_tokens <= 40
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.status == "completed" and r.incomplete_details is None


def test_max_output_tokens_makes_it_incomplete(client: openai.OpenAI) -> None:
    r = client.responses.create(model=SMOL, input="Tell me a long story.", max_output_tokens=5, temperature=0)
    assert r.status == "incomplete" and r.incomplete_details is not None, r
    assert r.incomplete_details.reason == "max_output_tokens"
    assert r.usage is not None and r.usage.output_tokens == 5 and r.max_output_tokens == 5


def test_message_input_and_instructions(client: openai.OpenAI) -> None:
    r = client.responses.create(
        model=SMOL,
        instructions="You are a pirate called Captain Hook. Always say your name.",
        input=[
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Ahoy!"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "What is your name?"}]},
        ],
        max_output_tokens=30,
        temperature=0,
        metadata={"ticket": "42"},
        store=False,
        user="tester",
        truncation="auto",
    )
    assert "Captain" in r.output_text
    assert r.instructions is not None and r.metadata == {"ticket": "42"} and r.user == "tester"
    # without the instructions the name is not there; a developer turn does what instructions do
    ask = {"role": "user", "content": "What is your name?"}
    plain = client.responses.create(model=SMOL, input=[ask], max_output_tokens=30, temperature=0)
    assert "Captain" not in plain.output_text
    rules = {"role": "developer", "content": "You are a pirate called Captain Hook. Always say your name."}
    dev = client.responses.create(model=SMOL, input=[rules, ask], max_output_tokens=30, temperature=0)
    assert "Captain" in dev.output_text


def test_stream_event_sequence(client: openai.OpenAI) -> None:
    with client.responses.stream(model=SMOL, input=QUESTION, max_output_tokens=40, temperature=0) as s:
        events = list(s)
        final = s.get_final_response()
    kinds = [e.type for e in events]
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert kinds == [*OPENING, *["response.output_text.delta"] * len(deltas), *CLOSING, "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(d.delta for d in deltas)
    assert "Paris" in text
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == text and final.output_text == text
    assert final.usage is not None and final.usage.output_tokens > 0 and final.status == "completed"
    assert len({e.item_id for e in deltas}) == 1 and deltas[0].item_id == final.output[0].id
    # the same answer not streamed (greedy)
    whole = client.responses.create(model=SMOL, input=QUESTION, max_output_tokens=40, temperature=0)
    assert whole.output_text == text


def test_stream_cut_by_max_output_tokens_ends_incomplete(client: openai.OpenAI) -> None:
    stream = client.responses.create(
        model=SMOL, input="Tell me a long story.", max_output_tokens=4, stream=True
    )
    events = list(stream)
    assert [e.type for e in events][-4:] == [*CLOSING, "response.incomplete"]
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.usage is not None and last.response.usage.output_tokens == 4


def test_json_schema_format(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    r = client.responses.create(
        model=SMOL,
        input="Which city is the capital of France? Answer in JSON.",
        text={"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}},
        max_output_tokens=40,
        temperature=0,
    )
    assert set(json.loads(r.output_text)) == {"city"}


def test_unhonoured_options_are_refused(client: openai.OpenAI, node: NodeProcess) -> None:
    refused = {
        "previous_response_id": "resp_123",
        "tools": [{"type": "web_search"}],
        "tool_choice": {"type": "web_search_preview"},
        "background": True,
        "reasoning": {"effort": "high"},
        "top_logprobs": 3,
        "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "http://x/y.png"}]}],
    }
    for field, value in refused.items():
        body = {"model": SMOL, "input": "hi", field: value}
        r = httpx.post(f"{node.url}/v1/responses", json=body, timeout=30)
        assert r.status_code == 400, (field, r.text)
        assert "not supported" in r.json()["error"]["message"], (field, r.text)
    for bad in ({"model": SMOL}, {"model": SMOL, "input": []}, {"model": SMOL, "input": [{"role": "x"}]}):
        r = httpx.post(f"{node.url}/v1/responses", json=bad, timeout=30)
        assert r.status_code == 400 and r.json()["error"]["message"], r.text
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="no-such-model", input="hi")
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model=SMOL, input="word " * 700)
