"""The current ``openai`` SDK against a node: chat and completions, streaming and not."""

import json

import openai
import pytest

from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model


@pytest.fixture
def client(smol: NodeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{smol.url}/v1", api_key="dummy-key", max_retries=0)


def test_models_list(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["smollm2-135m"]


def test_chat(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="smollm2-135m",
        max_tokens=40,
        temperature=0,
        messages=[{"role": "user", "content": "What is the capital of France? One sentence."}],
    )
    assert "Paris" in (r.choices[0].message.content or "")
    assert r.usage is not None and r.usage.completion_tokens > 0 and r.usage.prompt_tokens > 10
    assert r.choices[0].finish_reason in ("stop", "length")


def test_chat_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="smollm2-135m",
        max_tokens=30,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Name three colors."}],
    )
    text, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            text.append(c.delta.content or "")
            finish = c.finish_reason or finish
    assert "".join(text).strip()
    assert finish in ("stop", "length")
    assert usage is not None and usage.completion_tokens > 0


def test_length_finish_reason_is_real(client: openai.OpenAI) -> None:
    r = client.completions.create(
        model="smollm2-135m", prompt="Once upon a time", max_tokens=5, temperature=0
    )
    assert r.choices[0].finish_reason == "length"
    assert r.usage is not None and r.usage.completion_tokens == 5


def test_completions_streaming_and_list_prompt(client: openai.OpenAI) -> None:
    pieces = [
        c.choices[0].text
        for c in client.completions.create(
            model="smollm2-135m", prompt="The sky is", max_tokens=12, stream=True
        )
    ]
    assert "".join(pieces).strip()
    r = client.completions.create(model="smollm2-135m", prompt=["One, two,", "Red, green,"], max_tokens=6)
    assert sorted(c.index for c in r.choices) == [0, 1]


def test_stop_sequence(client: openai.OpenAI) -> None:
    r = client.completions.create(
        model="smollm2-135m", prompt="1, 2, 3, 4,", max_tokens=30, temperature=0, stop=[" 7"]
    )
    text = r.choices[0].text
    assert " 7" not in text and "6" in text and r.choices[0].finish_reason == "stop"


def test_logprobs(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="smollm2-135m",
        max_tokens=5,
        logprobs=True,
        top_logprobs=3,
        messages=[{"role": "user", "content": "Hi"}],
    )
    content = r.choices[0].logprobs.content  # type: ignore[union-attr]
    assert content and len(content[0].top_logprobs) == 3
    assert all(t.logprob <= 0 for t in content)
    c = client.completions.create(model="smollm2-135m", prompt="Hello", max_tokens=3, logprobs=2)
    assert c.choices[0].logprobs is not None and len(c.choices[0].logprobs.tokens or []) == 3


def test_json_schema_response_format(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    r = client.chat.completions.create(
        model="smollm2-135m",
        max_tokens=120,
        temperature=0,
        messages=[{"role": "user", "content": "Give a person's name and age as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )
    data = json.loads(r.choices[0].message.content or "")
    assert isinstance(data["name"], str) and isinstance(data["age"], int)


def test_json_object_response_format(client: openai.OpenAI) -> None:
    def reply(**extra: object) -> str:
        r = client.chat.completions.create(
            model="smollm2-135m",
            max_tokens=120,
            temperature=0,
            messages=[{"role": "user", "content": "Describe the capital of France in JSON."}],
            **extra,  # type: ignore[arg-type]
        )
        return r.choices[0].message.content or ""

    # control: unconstrained, this model wraps its JSON in a markdown fence and prose
    free = reply()
    with pytest.raises(json.JSONDecodeError):
        json.loads(free)
    data = json.loads(reply(response_format={"type": "json_object"}))
    assert isinstance(data, dict) and data, data  # an object, not just any JSON value ("x" or 42)
    assert "Paris" in json.dumps(data)


def test_unknown_model_is_404_naming_available(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-17", messages=[{"role": "user", "content": "x"}])
    assert "smollm2-135m" in str(err.value)
