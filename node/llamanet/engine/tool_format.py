"""Tool calling's formats (pure): how tools and tool turns reach a chat template, and the grammar that
forces tool calls.

A template that references ``tools`` (Hermes, Qwen 2.5, SmolLM3 ... style) gets them as Hugging Face
templates do: ``tools`` (OpenAI's ``{"type": "function", "function": {...}}`` objects), assistant turns
with ``tool_calls`` (``arguments`` as an object) and ``tool`` turns. Any other template gets the generic
format: a system-prompt section listing the functions and asking for Hermes-style calls,

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

earlier calls written that way into their assistant turns, and tool results as user turns holding
``<tool_response>...</tool_response>``. ``call_grammar`` forces one (or, in parallel, one or more) such
blocks whose arguments are valid JSON for the function's schema (llama.cpp's converter, one
``SchemaConverter`` so that each function's local ``$ref``s resolve inside its own schema).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llama_cpp.llama_grammar import SchemaConverter

from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.schema_limits import DEFAULT_LIMITS, SchemaLimits, Subject, check_grammar

OPEN, CLOSE = "<tool_call>", "</tool_call>"
TOOLS_SUBJECT = Subject("tool parameters schema", "tools")
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

GENERIC_INTRO = (
    "You can call functions to help with the user's request. These are the functions, one JSON object "
    "each with its name, description and parameters (a JSON schema):\n<tools>\n"
)
GENERIC_HOW = (
    "\n</tools>\n\nTo call a function, answer with a JSON object holding its name and arguments inside "
    "<tool_call></tool_call> tags, one block per call:\n<tool_call>\n"
    '{"name": "<function name>", "arguments": {<the arguments as JSON>}}\n</tool_call>\n'
    "Function results come back inside <tool_response></tool_response> tags. "
    "When no function is needed, answer normally."
)


@dataclass(frozen=True)
class Function:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None

    def openai(self) -> dict[str, Any]:
        """The tool as OpenAI spells it (and Hugging Face templates read it)."""
        fn: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            fn["description"] = self.description
        fn["parameters"] = self.parameters if self.parameters is not None else NO_PARAMETERS
        return {"type": "function", "function": fn}


def generic_section(tools: Sequence[Function]) -> str:
    listed = "\n".join(json.dumps(t.openai(), ensure_ascii=False) for t in tools)
    return GENERIC_INTRO + listed + GENERIC_HOW


def _arguments_object(arguments: Any) -> Any:
    """A call's ``arguments`` as an object where it is a JSON string of one (as OpenAI sends them)."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def call_text(name: str, arguments: Any) -> str:
    call = json.dumps({"name": name, "arguments": _arguments_object(arguments)}, ensure_ascii=False)
    return f"{OPEN}\n{call}\n{CLOSE}"


def template_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages for a tools-aware template: ``tool_calls`` arguments as objects, content never None."""
    out = []
    for m in messages:
        m = {**m, "content": m.get("content") or ""}
        if m.get("tool_calls"):
            m["tool_calls"] = [
                {
                    **c,
                    "function": {**c["function"], "arguments": _arguments_object(c["function"]["arguments"])},
                }
                for c in m["tool_calls"]
            ]
        out.append(m)
    return out


def generic_messages(
    messages: Sequence[dict[str, Any]], tools: Sequence[Function] | None
) -> list[dict[str, str]]:
    """Messages for a template that knows nothing of tools: the generic format above."""
    out: list[dict[str, str]] = []
    after_tool = False  # consecutive tool results share one user turn
    for m in messages:
        role, content = m["role"], m.get("content") or ""
        if role == "tool":
            block = f"<tool_response>\n{content}\n</tool_response>"
            if after_tool:
                out[-1]["content"] += "\n" + block
            else:
                out.append({"role": "user", "content": block})
            after_tool = True
            continue
        after_tool = False
        calls = [
            call_text(c["function"]["name"], c["function"]["arguments"]) for c in m.get("tool_calls") or ()
        ]
        out.append({"role": role, "content": "\n".join(([content] if content else []) + calls)})
    if tools:
        section = generic_section(tools)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{section}"}
        else:
            out.insert(0, {"role": "system", "content": section})
    return out


def call_grammar(
    tools: Sequence[Function], *, parallel: bool = True, limits: SchemaLimits = DEFAULT_LIMITS
) -> str:
    """GBNF for ``<tool_call>`` blocks calling one of ``tools`` with arguments valid for its schema;
    one block, or with ``parallel`` one or more separated by a newline."""
    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    calls = []
    for i, tool in enumerate(tools):
        try:
            params = json.loads(json.dumps(tool.parameters if tool.parameters is not None else NO_PARAMETERS))
            params = converter.resolve_refs(params, f"tool{i}")
            schema = {
                "type": "object",
                "properties": {"name": {"const": tool.name}, "arguments": params},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
            calls.append(converter.visit(schema, f"call{i}"))
        except Exception as exc:  # the converter raises assorted errors on unsupported schemas
            raise InvalidRequestError(
                f"unsupported JSON schema in function {tool.name!r}: {str(exc)[:200]}",
                param=f"tools[{i}].function.parameters",
            ) from exc
    converter._add_rule("tool-call", " | ".join(calls))
    block = f'"{OPEN}\\n" tool-call "\\n{CLOSE}"'
    converter._add_rule("root", f'{block} ("\\n" {block})*' if parallel else block)
    grammar: str = converter.format_grammar()
    check_grammar(grammar, limits, TOOLS_SUBJECT)
    return grammar
