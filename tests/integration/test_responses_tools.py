"""Function tools on ``/v1/responses`` with the openai SDK (``responses.create``, ``responses.stream()``)
against the real nodes of conftest's ``tool_swarm``: ``tools`` serves SmolLM2 with a tools-aware template,
``generic`` SmolLM2 with its own (the generic prompt format)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from tests.integration.conftest import SMOL, TOOLS
from tests.integration.test_tool_calls import ADD_SCHEMA, WEATHER_SCHEMA

pytestmark = pytest.mark.model
TOOL_LIST: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Get the weather in a city",
        "parameters": WEATHER_SCHEMA,
    },
    {
        "type": "function",
        "name": "add",
        "description": "Add two integers",
        "parameters": ADD_SCHEMA,
        "strict": True,
    },
]
SCHEMAS = {"get_weather": WEATHER_SCHEMA, "add": ADD_SCHEMA}
ASK = {"role": "user", "content": "What is 2 plus 3?"}
ADD: Any = {"type": "function", "name": "add"}


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)


def args(model: str = TOOLS, **body: Any) -> dict[str, Any]:
    return {
        "model": model,
        "input": [ASK],
        "tools": TOOL_LIST,
        "max_output_tokens": 60,
        "temperature": 0,
        **body,
    }


def without_ids(response: Any) -> Any:
    data = response.model_dump(exclude={"id", "created_at"})
    unique = ("id", "call_id", "parsed_arguments")  # parsed_arguments: the stream's parse of strict tools
    data["output"] = [{k: v for k, v in i.items() if k not in unique} for i in data["output"]]
    return data


def test_named_function_call(tool_swarm: dict[str, str]) -> None:
    r = client(tool_swarm["tools"]).responses.create(**args(tool_choice=ADD))
    assert (
        r.status == "completed"
        and r.tool_choice.name == "add"
        and [t.name for t in r.tools] == ["get_weather", "add"]
    )  # type: ignore[union-attr]
    (call,) = r.output
    assert call.type == "function_call" and call.status == "completed" and call.name == "add"
    assert call.id is not None and call.id.startswith("fc_") and call.call_id.startswith("call_")
    jsonschema.validate(json.loads(call.arguments), ADD_SCHEMA)
    assert r.usage is not None and r.usage.output_tokens > 5 and r.output_text == ""


def test_required_call_in_the_generic_format(tool_swarm: dict[str, str]) -> None:
    r = client(tool_swarm["generic"]).responses.create(
        **args(SMOL, tool_choice="required", parallel_tool_calls=False)
    )
    (call,) = r.output
    assert call.type == "function_call" and call.name in SCHEMAS and r.parallel_tool_calls is False
    jsonschema.validate(json.loads(call.arguments), SCHEMAS[call.name])


def test_named_call_streamed(tool_swarm: dict[str, str]) -> None:
    sdk = client(tool_swarm["tools"])
    with sdk.responses.stream(**args(tool_choice=ADD)) as s:
        events = list(s)
        final = s.get_final_response()
    kinds = [e.type for e in events]
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) > 3  # the arguments came in fragments
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * len(deltas),
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added, done = events[2], events[-3]
    assert added.type == "response.output_item.added" and added.item.type == "function_call"
    assert added.item.arguments == "" and added.item.name == "add"
    assert done.type == "response.function_call_arguments.done"
    assert done.arguments == "".join(d.delta for d in deltas) and {d.item_id for d in deltas} == {
        added.item.id
    }
    (call,) = final.output
    assert call.type == "function_call" and call.arguments == done.arguments and call.id == added.item.id
    assert call.parsed_arguments == json.loads(call.arguments)  # strict: the SDK parsed them
    whole = sdk.responses.create(**args(tool_choice=ADD))  # greedy: the same response
    assert without_ids(final) == without_ids(whole)


def test_second_turn_answers_from_the_function_output(tool_swarm: dict[str, str]) -> None:
    url = tool_swarm["tools"]
    first = client(url).responses.create(**args(tool_choice=ADD))
    (call,) = first.output
    assert call.type == "function_call"
    output = {"type": "function_call_output", "call_id": call.call_id, "output": json.dumps({"result": 5})}
    second = client(url).responses.create(**args(input=[ASK, *first.output, output]))
    assert [i.type for i in second.output] == ["message"] and second.output_text, second.output
    # the turns are the chat route's tool history: the same prompt, the same answer
    history = [
        ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": "add", "arguments": call.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.call_id, "content": output["output"]},
    ]
    chat_tools = [
        {"type": "function", "function": {k: v for k, v in t.items() if k != "type"}} for t in TOOL_LIST
    ]
    chat = client(url).chat.completions.create(
        model=TOOLS, messages=history, tools=chat_tools, max_tokens=60, temperature=0
    )
    assert second.usage is not None and chat.usage is not None
    assert second.usage.input_tokens == chat.usage.prompt_tokens > first.usage.input_tokens  # type: ignore[union-attr]
    assert second.output_text == chat.choices[0].message.content


def test_tool_choice_none_is_a_plain_message(tool_swarm: dict[str, str]) -> None:
    sdk = client(tool_swarm["generic"])
    none = sdk.responses.create(**args(SMOL, tool_choice="none", max_output_tokens=8))
    plain = sdk.responses.create(model=SMOL, input=[ASK], max_output_tokens=8, temperature=0)
    assert [i.type for i in none.output] == ["message"] and none.output_text == plain.output_text
    assert none.usage is not None and plain.usage is not None
    assert none.usage.input_tokens == plain.usage.input_tokens  # the functions were not offered
    auto = sdk.responses.create(**args(SMOL, max_output_tokens=8))
    assert auto.usage is not None and auto.usage.input_tokens > plain.usage.input_tokens + 100


def test_unsupported_tools_are_400s(tool_swarm: dict[str, str]) -> None:
    sdk = client(tool_swarm["tools"])
    for tool in ({"type": "web_search"}, {"type": "file_search", "vector_store_ids": ["vs_1"]}):
        with pytest.raises(openai.BadRequestError) as refused:
            sdk.responses.create(**args(tools=[TOOL_LIST[0], tool]))
        assert refused.value.body["param"] == "tools[1].type" and repr(tool["type"]) in refused.value.message  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as unknown:
        sdk.responses.create(**args(tool_choice={"type": "function", "name": "launch"}))
    assert unknown.value.code == "unknown_function"
    with pytest.raises(openai.BadRequestError) as orphan:
        sdk.responses.create(
            **args(input=[ASK, {"type": "function_call_output", "call_id": "c", "output": "5"}])
        )
    assert orphan.value.body["param"] == "input[1].call_id"  # type: ignore[index]
    assert httpx.get(f"{tool_swarm['tools']}/health", timeout=5).status_code == 200
