"""Tool calling against real nodes with the openai SDK, streamed and not.

Two nodes (conftest's ``tool_swarm``): ``tools`` serves SmolLM2 with a tools-aware (Hermes-style)
chat template written into a copy of its GGUF (``tests.toolmodel``); ``generic`` serves SmolLM2 with
its own template, which knows nothing of tools (the generic prompt format), and is the swarm entry the
tools node joined, so requests for the tools model sent to it are forwarded.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from llamanet.engine.chat import choose_template
from llamanet.engine.tool_format import Function
from llamanet.engine.tool_parse import ToolCallParser, collect
from tests.integration.conftest import SMOL, TOOLS
from tests.toolmodel import HERMES_TEMPLATE

pytestmark = pytest.mark.model
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city"],
}
ADD_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}


def tool(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


TOOL_LIST = [
    tool("get_weather", "Get the weather in a city", WEATHER_SCHEMA),
    tool("add", "Add two integers", ADD_SCHEMA),
]
WEATHER_ONLY = TOOL_LIST[:1]
SCHEMAS = {"get_weather": WEATHER_SCHEMA, "add": ADD_SCHEMA}
ASK: list[Any] = [{"role": "user", "content": "What is the weather like in Paris today?"}]


def weather_round(city: str, n: int, degrees: int) -> list[Any]:
    fn = {"name": "get_weather", "arguments": json.dumps({"city": city})}
    call = {"id": f"call_{n}", "type": "function", "function": fn}
    return [
        {"role": "user", "content": f"What is the weather in {city}?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": f"call_{n}", "content": json.dumps({"temperature": degrees})},
        {"role": "assistant", "content": f"It is {degrees} degrees in {city}."},
    ]


# three worked rounds, then a new city: SmolLM2 then calls in the generic format by a margin (a call's
# "<tool_call>" beats mimicking "<tool_response>" by 1.1 nats; with two rounds it was a coin toss, and
# float noise between cached and fresh prompts flipped it); with the Hermes template it mimics instead
FEW_SHOT: list[Any] = [
    *weather_round("Paris", 1, 18),
    *weather_round("Berlin", 2, 12),
    *weather_round("Madrid", 3, 25),
    {"role": "user", "content": "What is the weather in Rome?"},
]


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)


def chat(url: str, model: str, **body: Any) -> Any:
    args: dict[str, Any] = {
        "model": model,
        "messages": ASK,
        "tools": TOOL_LIST,
        "max_tokens": 60,
        "temperature": 0,
    }
    return client(url).chat.completions.create(**{**args, **body})


def streamed(url: str, model: str, **body: Any) -> tuple[str, list[dict[str, Any]], str | None, list[Any]]:
    """Content, calls (name, arguments, id), finish reason and the raw deltas of a streamed answer."""
    content, calls, finish, deltas = "", [], None, []
    for chunk in chat(url, model, stream=True, **body):
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        deltas.append(choice.delta)
        content += choice.delta.content or ""
        for tc in choice.delta.tool_calls or []:
            if tc.id is not None:
                assert tc.index == len(calls) and tc.type == "function" and tc.function.arguments == ""
                calls.append({"id": tc.id, "name": tc.function.name, "arguments": ""})
            else:
                assert tc.index == len(calls) - 1 and tc.function.name is None
                calls[-1]["arguments"] += tc.function.arguments
    return content, calls, finish, deltas


def test_required_call_is_valid_for_its_schema(tool_swarm: dict[str, str]) -> None:
    # the generic prompt format (SmolLM2's own template), one call forced by the grammar
    r = chat(tool_swarm["generic"], SMOL, tool_choice="required", parallel_tool_calls=False)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.function.name in SCHEMAS
    jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


def test_required_parallel_calls_are_each_valid(tool_swarm: dict[str, str]) -> None:
    r = chat(tool_swarm["tools"], TOOLS, tool_choice="required", max_tokens=80)
    choice = r.choices[0]
    calls = choice.message.tool_calls
    assert calls and len({c.id for c in calls}) == len(calls)
    complete = calls if choice.finish_reason == "tool_calls" else calls[:-1]  # "length": the last is cut
    assert choice.finish_reason in ("tool_calls", "length") and complete
    for c in complete:
        jsonschema.validate(json.loads(c.function.arguments), SCHEMAS[c.function.name])


@pytest.mark.parametrize("where", ["tools", "generic"])
def test_named_call_streamed_and_not(tool_swarm: dict[str, str], where: str) -> None:
    named = {"type": "function", "function": {"name": "add"}}
    model = TOOLS if where == "tools" else SMOL
    whole = chat(tool_swarm[where], model, tool_choice=named).choices[0]
    (call,) = whole.message.tool_calls
    assert whole.finish_reason == "tool_calls" and call.function.name == "add"
    jsonschema.validate(json.loads(call.function.arguments), ADD_SCHEMA)
    content, calls, finish, deltas = streamed(tool_swarm[where], model, tool_choice=named)
    assert finish == "tool_calls" and content == ""
    assert [(c["name"], c["arguments"]) for c in calls] == [("add", call.function.arguments)]
    assert sum(1 for d in deltas if d.tool_calls) > 3  # the arguments came in fragments


def test_forwarded_tool_request(tool_swarm: dict[str, str]) -> None:
    # sent to the generic node, served by the tools node: the body goes through unchanged
    raw = client(tool_swarm["generic"]).chat.completions.with_raw_response.create(
        model=TOOLS,
        messages=ASK,
        tools=TOOL_LIST,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=40,
        temperature=0,
    )
    direct = chat(
        tool_swarm["tools"],
        TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=40,
    )
    answer = raw.parse().choices[0]
    assert (
        raw.headers["x-llamanet-node"]
        != httpx.get(f"{tool_swarm['generic']}/status", timeout=10).json()["node_id"]
    )
    assert (
        answer.message.tool_calls[0].function.arguments
        == direct.choices[0].message.tool_calls[0].function.arguments
    )


def expected_auto(url: str, model: str, template: str) -> tuple[Any, int]:
    """What the model writes for FEW_SHOT as a raw completion of the prompt rendered here, parsed;
    and that prompt's token count."""
    functions = [
        Function(t["function"]["name"], t["function"]["description"], t["function"]["parameters"])
        for t in WEATHER_ONLY
    ]
    prompt = choose_template(
        gguf_template=template, architecture="llama", override=None, bos_token="", eos_token="<|im_end|>"
    ).render(FEW_SHOT, functions)
    r = client(url).completions.create(model=model, prompt=prompt, max_tokens=60, temperature=0)
    parser = ToolCallParser(["get_weather"])
    assert r.usage is not None
    return collect(parser.feed(r.choices[0].text) + parser.finish()), r.usage.prompt_tokens


@pytest.mark.parametrize("where", ["tools", "generic"])
def test_auto_parses_what_the_model_wrote(tool_swarm: dict[str, str], where: str) -> None:
    url, model = tool_swarm[where], TOOLS if where == "tools" else SMOL
    template = HERMES_TEMPLATE if where == "tools" else tool_swarm["smol_template"]
    (content, calls), prompt_tokens = expected_auto(url, model, template)
    r = chat(url, model, messages=FEW_SHOT, tools=WEATHER_ONLY)
    choice = r.choices[0]
    assert r.usage is not None and r.usage.prompt_tokens == prompt_tokens  # the same prompt
    got = [(c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
    assert got == calls
    assert choice.message.content == (content if calls else content or "")
    assert choice.finish_reason == ("tool_calls" if calls else "stop")
    s_content, s_calls, s_finish, _ = streamed(url, model, messages=FEW_SHOT, tools=WEATHER_ONLY)
    assert (s_content, [(c["name"], c["arguments"]) for c in s_calls], s_finish) == (
        content or "",
        calls,
        choice.finish_reason,
    )
    if where == "generic":  # the prompt is chosen so that this model calls; else the test tests nothing
        assert calls and calls[0][0] == "get_weather", f"the model wrote no call: {content!r}"


def test_tool_choice_none_offers_no_tools(tool_swarm: dict[str, str]) -> None:
    url = tool_swarm["generic"]
    none = chat(url, SMOL, tool_choice="none", max_tokens=8)
    plain = client(url).chat.completions.create(model=SMOL, messages=ASK, max_tokens=8, temperature=0)
    assert none.choices[0].message.tool_calls is None
    assert none.usage is not None and plain.usage is not None
    assert none.usage.prompt_tokens == plain.usage.prompt_tokens
    assert none.choices[0].message.content == plain.choices[0].message.content
    auto = chat(url, SMOL, max_tokens=8)
    assert auto.usage is not None and auto.usage.prompt_tokens > plain.usage.prompt_tokens + 100  # offered


def test_bad_tool_requests_are_400s(tool_swarm: dict[str, str]) -> None:
    with pytest.raises(openai.BadRequestError) as unknown:
        chat(tool_swarm["tools"], TOOLS, tool_choice={"type": "function", "function": {"name": "launch"}})
    assert unknown.value.body["param"] == "tool_choice" and "launch" in unknown.value.message  # type: ignore[index]
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(40):
        deep = {"type": "array", "items": deep}
    with pytest.raises(openai.BadRequestError) as complex_:
        chat(
            tool_swarm["tools"],
            TOOLS,
            tools=[{"type": "function", "function": {"name": "deep", "parameters": deep}}],
        )
    assert complex_.value.code == "schema_too_complex" and "max_depth" in complex_.value.message
    assert httpx.get(f"{tool_swarm['tools']}/health", timeout=5).status_code == 200
