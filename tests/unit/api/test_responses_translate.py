"""The pure Responses API translation and event builders, checked against the openai SDK's own types."""

import json
from typing import Any

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter, ValidationError

from llamanet.api.responses_schemas import ResponsesRequest
from llamanet.api.responses_shapes import ResponseEvents, ResponseHead, failure_code, usage
from llamanet.api.responses_translate import check, engine_request, grammar, messages
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.events import Finished

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def body(**fields: Any) -> ResponsesRequest:
    return ResponsesRequest.model_validate({"model": "m", "input": "hi", **fields})


def finished(reason: str = "stop") -> Finished:
    return Finished(reason, 12, 5, 3, 0.1, 0.5)  # type: ignore[arg-type]


def test_text_input_and_instructions() -> None:
    assert messages(body()) == [{"role": "user", "content": "hi"}]
    assert messages(body(instructions="be brief")) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]


def test_message_items() -> None:
    items = [
        {"role": "developer", "content": "rules"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": t} for t in "ab"]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "c", "annotations": []}]},
    ]
    assert messages(body(input=items)) == [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "ab"},
        {"role": "assistant", "content": "c"},
    ]


@pytest.mark.parametrize(
    "item",
    [
        {"role": "user", "content": [{"type": "input_image", "image_url": "http://x"}]},
        {"type": "function_call_output", "call_id": "c", "output": "1"},
        {"role": "tool", "content": "x"},
        {"role": "user"},
    ],
)
def test_input_that_is_not_a_text_message_is_refused(item: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        messages(body(input=[item]))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tools", [{"type": "function", "name": "f"}]),
        ("tool_choice", "required"),
        ("tool_choice", {"type": "function", "name": "f"}),
        ("previous_response_id", "resp_1"),
        ("conversation", "conv_1"),
        ("background", True),
        ("prompt", {"id": "pmpt_1"}),
        ("reasoning", {"effort": "high"}),
        ("top_logprobs", 2),
        ("include", ["message.output_text.logprobs"]),
        ("text", {"verbosity": "low"}),
    ],
)
def test_unhonoured_fields_are_refused(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="not supported"):
        check(body(**{field: value}))


def test_bookkeeping_is_accepted() -> None:
    check(
        body(
            store=True,
            metadata={"k": "v"},
            user="u",
            truncation="auto",
            parallel_tool_calls=False,
            tool_choice="auto",
            reasoning={"effort": None},
            include=["reasoning.encrypted_content"],
            service_tier="auto",
            prompt_cache_key="k",
            safety_identifier="s",
            stream_options={"include_obfuscation": False},
            text={"verbosity": "medium"},
        )
    )


def test_bounds() -> None:
    for bad in ({"input": ""}, {"input": []}, {"max_output_tokens": 0}, {"truncation": "maybe"}):
        with pytest.raises(ValidationError):
            body(**bad)
    with pytest.raises(ValidationError):
        body(metadata={str(i): "v" for i in range(17)})
    with pytest.raises(ValidationError, match="at most 1024 input items"):
        body(input=[{"role": "user", "content": "a"}] * 1025)
    assert len(messages(body(input="x" * 5000))[0]["content"]) == 5000  # a long text is one item


def test_engine_request_and_format() -> None:
    req = engine_request(
        [1, 2, 3],
        body(max_output_tokens=7, temperature=0, seed=1, stop=["x"]),
        n_vocab=100,
        n_ctx=64,
        default_max_tokens=16,
        stop=("<end>",),
    )
    assert req.max_tokens == 7 and req.sampling.temperature == 0 and req.stop == ("x", "<end>")
    assert req.grammar is None
    assert grammar(body(text={"format": {"type": "json_object"}}).text) is not None
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert grammar(body(text={"format": {"type": "json_schema", "name": "n", "schema": schema}}).text)
    with pytest.raises(InvalidRequestError, match="schema"):
        grammar(body(text={"format": {"type": "json_schema", "name": "n"}}).text)


def head(**fields: Any) -> ResponseHead:
    return ResponseHead("resp_1", "msg_1", 100, "m", body(**fields))


def test_response_object_is_the_sdks() -> None:
    r = Response.model_validate(head(metadata={"k": "v"}).final("Hello", finished()))
    assert r.output_text == "Hello" and r.status == "completed" and r.metadata == {"k": "v"}
    assert r.usage is not None and (r.usage.input_tokens, r.usage.output_tokens) == (12, 5)
    assert r.usage.total_tokens == 17 and r.usage.input_tokens_details.cached_tokens == 3
    cut = Response.model_validate(head().final("Hel", finished("length")))
    assert cut.status == "incomplete" and cut.incomplete_details is not None
    assert cut.incomplete_details.reason == "max_output_tokens" and cut.output[0].status == "incomplete"  # type: ignore[union-attr]
    assert usage(finished())["output_tokens_details"] == {"reasoning_tokens": 0}


def parse(raw: list[bytes]) -> list[Any]:
    out = []
    for chunk in raw:
        event_line, data_line = chunk.decode().rstrip("\n").split("\n")
        event = EVENTS.validate_python(json.loads(data_line.removeprefix("data: ")))
        assert event_line == f"event: {event.type}"
        out.append(event)
    return out


def test_event_sequence() -> None:
    out = ResponseEvents(head())
    raw = [*out.opening(), out.delta("Hel"), out.delta("lo"), *out.closing(finished())]
    events = parse(raw)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(10))
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    assert events[6].text == "Hello" and events[7].part.text == "Hello"
    assert events[8].item.id == "msg_1" and events[8].item.status == "completed"
    assert events[9].response.output_text == "Hello" and events[9].response.usage.output_tokens == 5


def test_incomplete_and_failed_streams() -> None:
    out = ResponseEvents(head())
    events = parse([*out.opening(), out.delta("a"), *out.closing(finished("length"))])
    assert events[-1].type == "response.incomplete" and events[-1].response.status == "incomplete"
    out = ResponseEvents(head())
    failed = parse([*out.opening(), out.delta("a"), out.failed(429, "busy")])[-1]
    assert failed.type == "response.failed" and failed.response.error.message == "busy"
    assert failed.response.error.code == "rate_limit_exceeded" and failed.sequence_number == 5
    assert failed.response.output[0].content[0].text == "a"
    assert failure_code(400) == "invalid_prompt" and failure_code(503) == "server_error"
