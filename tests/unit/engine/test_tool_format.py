"""Tool prompts (template-rendered and generic) and the grammar forcing calls."""

import json

import pytest

from llamanet.engine.chat import choose_template
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.schema_limits import SchemaLimits
from llamanet.engine.tool_format import Function, call_grammar, generic_messages
from tests.toolmodel import HERMES_TEMPLATE

WEATHER = Function(
    "get_weather",
    "Weather <now> & here",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
HISTORY = [
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "c2",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "18C"},
    {"role": "tool", "tool_call_id": "c2", "content": "25C"},
]


def template(source: str | None = None, override: str | None = None):  # type: ignore[no-untyped-def]
    return choose_template(
        gguf_template=source, architecture="llama", override=override, bos_token="", eos_token="<|im_end|>"
    )


def test_a_tools_aware_template_renders_tools_and_tool_turns_itself() -> None:
    t = template(HERMES_TEMPLATE)
    assert t.supports_tools
    prompt = t.render(HISTORY, [WEATHER])
    # Hugging Face's tojson: no HTML escapes of < > &
    assert json.dumps(WEATHER.openai()) in prompt and "Weather <now> & here" in prompt
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>' in prompt
    assert "<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\n25C" in prompt
    assert "# Tools" not in t.render(HISTORY)  # tool_choice none: history rendered, no tools offered


def test_other_templates_get_the_generic_format() -> None:
    t = template(override="chatml")
    assert not t.supports_tools
    prompt = t.render([{"role": "system", "content": "Be brief."}, *HISTORY], [WEATHER])
    assert prompt.startswith("<|im_start|>system\nBe brief.\n\nYou can call functions")
    assert json.dumps(WEATHER.openai()) in prompt
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}'
        in prompt
    )
    # consecutive tool results: one user turn
    assert (
        "<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\n25C\n</tool_response>"
        in prompt
    )
    assert generic_messages([{"role": "user", "content": "x"}], [WEATHER])[0]["role"] == "system"
    assert "You can call functions" not in t.render(HISTORY)


def test_grammar_forces_tagged_calls_of_the_named_functions() -> None:
    add = Function("add", None, {"type": "object", "properties": {"a": {"type": "integer"}}})
    g = call_grammar([WEATHER, add])
    rules = dict(line.split(" ::= ", 1) for line in g.splitlines())
    assert rules["root"] == (
        '"<tool_call>\\n" tool-call "\\n</tool_call>" ("\\n" "<tool_call>\\n" tool-call "\\n</tool_call>")*'
    )
    assert rules["tool-call"] == "call0 | call1"
    assert rules["call0-name"] == '"\\"get_weather\\""' and rules["call1-name"] == '"\\"add\\""'
    assert call_grammar([add], parallel=False).count("tool-call") == 2  # root without repetition
    assert (
        'root ::= "<tool_call>\\n" tool-call "\\n</tool_call>"\n'
        in call_grammar([add], parallel=False) + "\n"
    )


def test_each_functions_refs_resolve_in_its_own_schema() -> None:
    def with_item(kind: str) -> Function:
        return Function(
            f"f_{kind}",
            None,
            {
                "type": "object",
                "properties": {"x": {"$ref": "#/$defs/Item"}},
                "$defs": {"Item": {"type": kind}},
            },
        )

    g = call_grammar([with_item("integer"), with_item("boolean")])
    assert "integer" in g and "boolean" in g  # both Items, not one resolved twice


def test_unsupported_and_too_complex_schemas_are_400s() -> None:
    with pytest.raises(InvalidRequestError) as bad:
        call_grammar([Function("f", None, {"type": "no-such-type"})])
    assert bad.value.param == "tools[0].function.parameters"
    with pytest.raises(InvalidRequestError) as big:
        call_grammar([WEATHER], limits=SchemaLimits(max_grammar_bytes=100))
    assert big.value.code == "schema_too_complex" and big.value.param == "tools"
    assert "tool parameters schema too complex" in str(big.value)
