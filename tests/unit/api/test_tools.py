"""What a request's tools and tool_choice become; the 400s for what cannot be honoured."""

from typing import Any

import pytest
from pydantic import ValidationError

from llamanet.api.schemas import ChatCompletionRequest
from llamanet.api.tools import StreamDeltas, message, tool_plan
from llamanet.api.translate import chat_messages
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.tool_parse import CallArguments, CallStart, Text, ToolCallParser

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ADD = {"type": "function", "function": {"name": "add", "description": "a + b"}}
USER = [{"role": "user", "content": "hi"}]


def body(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"messages": USER, **fields})


def refused(**fields: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        tool_plan(body(**fields))
    return info.value


def test_each_tool_choice() -> None:
    assert tool_plan(body()) is None and tool_plan(body(tool_choice="none")) is None
    auto = tool_plan(body(tools=[WEATHER, ADD]))
    assert auto is not None and [f.name for f in auto.offered] == ["get_weather", "add"]
    assert auto.grammar() is None and auto.parallel
    none = tool_plan(body(tools=[WEATHER], tool_choice="none"))
    assert none is not None and none.offered == () and none.parser() is None
    required = tool_plan(body(tools=[WEATHER, ADD], tool_choice="required", parallel_tool_calls=False))
    assert required is not None and not required.parallel
    grammar = required.grammar() or ""
    assert "call0 | call1" in grammar and ")*" not in grammar
    named = tool_plan(
        body(tools=[WEATHER, ADD], tool_choice={"type": "function", "function": {"name": "add"}})
    )
    assert named is not None and [f.name for f in named.forced] == ["add"] and not named.parallel
    parser = named.parser()
    assert parser is not None and parser.names == {"add"}


def test_refusals_name_their_parameter() -> None:
    unknown = refused(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}})
    assert unknown.param == "tool_choice" and unknown.code == "unknown_function" and "nope" in str(unknown)
    assert refused(tool_choice="required").param == "tool_choice"  # no tools to call
    assert refused(tools=[WEATHER, WEATHER]).param == "tools[1].function.name"
    assert refused(tools=[WEATHER], logprobs=True).param == "logprobs"
    assert refused(tools=[WEATHER], response_format={"type": "json_object"}).param == "response_format"
    assert refused(functions=[{"name": "f"}]).param == "functions"
    assert refused(function_call="auto").param == "function_call"
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(40):
        deep = {"type": "array", "items": deep}
    bad = {"type": "function", "function": {"name": "deep", "parameters": deep}}
    too_complex = refused(tools=[bad])
    assert too_complex.code == "schema_too_complex" and too_complex.param == "tools"
    assert "max_depth" in str(too_complex)
    # logprobs are fine when the tools are not offered
    assert tool_plan(body(tools=[WEATHER], tool_choice="none", logprobs=True)) is not None


def test_schema_bounds_on_names_and_counts() -> None:
    with pytest.raises(ValidationError):
        body(tools=[{"type": "function", "function": {"name": "has space"}}])
    with pytest.raises(ValidationError):
        body(tools=[ADD] * 129)
    with pytest.raises(ValidationError):
        body(tools=[WEATHER], tool_choice="sometimes")


def test_history_turns_carry_tool_calls_and_ids() -> None:
    turns = chat_messages(
        body(
            messages=[
                *USER,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ]
        ).messages
    )
    assert turns[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    assert turns[2] == {"role": "tool", "content": "42", "tool_call_id": "c1"}
    with pytest.raises(InvalidRequestError, match="only assistant turns"):
        chat_messages(
            body(
                messages=[
                    {
                        "role": "user",
                        "content": "x",
                        "tool_calls": [{"function": {"name": "f", "arguments": ""}}],
                    }
                ]
            ).messages
        )


def test_answer_shapes() -> None:
    text = '<tool_call>\n{"name": "add", "arguments": {"a": 1}}\n</tool_call>'
    msg, calls = message(text, ToolCallParser(["add"]))
    assert calls == 1 and msg["content"] is None
    (call,) = msg["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"] == {"name": "add", "arguments": '{"a": 1}'}
    assert message("plain", ToolCallParser(["add"])) == ({"role": "assistant", "content": "plain"}, 0)
    assert message(" raw ", None) == ({"role": "assistant", "content": " raw "}, 0)
    deltas = StreamDeltas()
    out = deltas([Text("Hi"), CallStart(0, "add"), CallArguments(0, '{"a"'), CallArguments(0, "")])
    assert out[0] == {"content": "Hi"}
    assert out[1] == {
        "tool_calls": [
            {
                "index": 0,
                "id": deltas.ids[0],
                "type": "function",
                "function": {"name": "add", "arguments": ""},
            }
        ]
    }
    assert out[2] == {"tool_calls": [{"index": 0, "function": {"arguments": '{"a"'}}]}
    assert len(out) == 3  # empty fragments are not sent
