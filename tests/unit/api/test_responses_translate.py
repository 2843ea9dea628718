"""The pure Responses API translation: input items, tools and tool_choice, refusals."""

import json
from typing import Any

import pytest
from pydantic import ValidationError

from llamanet.api.responses_schemas import ResponsesRequest
from llamanet.api.responses_translate import check, engine_request, grammar, messages, tool_plan
from llamanet.api.schemas import ChatCompletionRequest, ChatMessage
from llamanet.api.tools import ToolPlan
from llamanet.api.tools import tool_plan as chat_tool_plan
from llamanet.api.translate import chat_messages
from llamanet.engine.errors import InvalidRequestError


def body(**fields: Any) -> ResponsesRequest:
    return ResponsesRequest.model_validate({"model": "m", "input": "hi", **fields})


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
        {"type": "function_call_output", "call_id": "c", "output": "1"},  # no such call
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
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
            max_tool_calls=3,
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


# --- tools -----------------------------------------------------------------------------------------
WEATHER_PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"type": "function", "name": "get_weather", "description": "weather", "parameters": WEATHER_PARAMS}
ADD = {"type": "function", "name": "add", "strict": True}


def plan_of(**fields: Any) -> ToolPlan | None:
    return tool_plan(body(**fields))


def refusal(**fields: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        tool_plan(body(**fields))
    return info.value


def chat_plan(**fields: Any) -> ToolPlan | None:
    chat_tools = [
        {"type": "function", "function": {k: v for k, v in t.items() if k != "type"}} for t in (WEATHER, ADD)
    ]
    return chat_tool_plan(
        ChatCompletionRequest.model_validate(
            {"messages": [{"role": "user", "content": "hi"}], "tools": chat_tools, **fields}
        )
    )


def test_each_tool_choice_is_the_chat_routes_plan() -> None:
    assert plan_of() is None and plan_of(tool_choice="none") is None and plan_of(tool_choice="auto") is None
    tools = [WEATHER, ADD]
    auto = plan_of(tools=tools)
    assert auto is not None and [f.name for f in auto.offered] == ["get_weather", "add"]
    assert auto.grammar() is None and auto.parallel and auto == chat_plan()
    assert auto.offered[0].parameters == WEATHER_PARAMS and auto.offered[0].description == "weather"
    none = plan_of(tools=tools, tool_choice="none")
    assert none is not None and none.offered == () and none.parser() is None
    required = plan_of(tools=tools, tool_choice="required", parallel_tool_calls=False)
    assert required == chat_plan(tool_choice="required", parallel_tool_calls=False)
    assert required is not None and ")*" not in (required.grammar() or "x)*")
    named = plan_of(tools=tools, tool_choice={"type": "function", "name": "add"})
    assert named is not None and [f.name for f in named.forced] == ["add"] and not named.parallel
    assert named == chat_plan(tool_choice={"type": "function", "function": {"name": "add"}})
    assert (
        named.grammar() == chat_plan(tool_choice={"type": "function", "function": {"name": "add"}}).grammar()
    )  # type: ignore[union-attr]


def test_tool_refusals_name_what_is_refused() -> None:
    web = refusal(tools=[WEATHER, {"type": "web_search"}])
    assert web.param == "tools[1].type" and "'web_search'" in str(web) and "not supported" in str(web)
    assert refusal(tools=[{"type": "file_search", "vector_store_ids": []}]).param == "tools[0].type"
    assert refusal(tools=[{"type": "function"}]).param == "tools[0].name"
    choice = refusal(tools=[WEATHER], tool_choice={"type": "web_search_preview"})
    assert choice.param == "tool_choice" and "'web_search_preview'" in str(choice)
    assert (
        refusal(tools=[WEATHER], tool_choice={"type": "allowed_tools", "mode": "auto"}).param == "tool_choice"
    )
    assert refusal(tools=[WEATHER], tool_choice={"type": "function"}).param == "tool_choice.name"
    unknown = refusal(tools=[WEATHER], tool_choice={"type": "function", "name": "launch"})
    assert unknown.code == "unknown_function" and "launch" in str(unknown)
    assert refusal(tool_choice="required").param == "tool_choice"  # no tools
    assert refusal(tool_choice={"type": "function", "name": "add"}).param == "tool_choice"
    assert refusal(tools=[ADD, ADD]).param == "tools[1].name"
    fmt = refusal(tools=[WEATHER], text={"format": {"type": "json_object"}})
    assert fmt.param == "text.format"
    assert plan_of(tools=[WEATHER], tool_choice="none", text={"format": {"type": "json_object"}}) is not None
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(40):
        deep = {"type": "array", "items": deep}
    assert (
        refusal(tools=[{"type": "function", "name": "deep", "parameters": deep}]).code == "schema_too_complex"
    )
    for bad in (
        {"tool_choice": "sometimes"},
        {"tools": [{"type": "function", "name": "no spaces"}]},
        {"tools": [ADD] * 129},
    ):
        with pytest.raises(ValidationError):
            body(**bad)


def call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": json.dumps(arguments)}


def test_function_call_items_are_the_chat_tool_history() -> None:
    items = [
        {"role": "user", "content": "weather in Paris, and 1 + 2?"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Let me see."}]},
        {**call("call_1", "get_weather", {"city": "Paris"}), "id": "fc_1", "status": "completed"},
        call("call_2", "add", {"a": 1, "b": 2}),
        {"type": "function_call_output", "call_id": "call_1", "output": '{"temperature": 18}'},
        {
            "type": "function_call_output",
            "call_id": "call_2",
            "output": [{"type": "input_text", "text": "3"}],
        },
    ]
    chat = [
        {"role": "user", "content": "weather in Paris, and 1 + 2?"},
        {
            "role": "assistant",
            "content": "Let me see.",
            "tool_calls": [
                {"id": c, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                for c, n, a in (
                    ("call_1", "get_weather", {"city": "Paris"}),
                    ("call_2", "add", {"a": 1, "b": 2}),
                )
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"temperature": 18}'},
        {"role": "tool", "tool_call_id": "call_2", "name": "add", "content": "3"},
    ]
    assert messages(body(input=items)) == chat_messages([ChatMessage.model_validate(m) for m in chat])
    alone = messages(body(input=[items[0], items[3]]))
    assert alone[1] == {"role": "assistant", "content": "", "tool_calls": chat[1]["tool_calls"][1:]}  # type: ignore[index]


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "function_call", "call_id": "c", "name": "add"}, "input[1].arguments"),
        ({"type": "function_call", "name": "add", "arguments": "{}"}, "input[1].call_id"),
        ({"type": "function_call_output", "call_id": "call_1"}, "input[1].output"),
        ({"type": "function_call_output", "output": "3"}, "input[1].call_id"),
        ({"type": "function_call_output", "call_id": "call_9", "output": "3"}, "input[1].call_id"),
        (
            {"type": "function_call_output", "call_id": "call_1", "output": [{"type": "input_image"}]},
            "input[1].output[0]",
        ),
    ],
)
def test_bad_tool_items(item: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        messages(body(input=[call("call_1", "add", {"a": 1, "b": 2}), item]))
    assert info.value.param == param


def test_engine_request_takes_the_plans_grammar() -> None:
    def request(**fields: Any) -> Any:
        b = body(**fields)
        return engine_request([1], b, n_vocab=10, n_ctx=64, default_max_tokens=8, stop=(), tools=tool_plan(b))

    named = plan_of(tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"})
    assert named is not None
    assert (
        request(tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"}).grammar
        == named.grammar()
    )
    assert request(tools=[WEATHER]).grammar is None  # auto: free text, parsed
