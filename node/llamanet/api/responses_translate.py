"""Pure translation of a Responses API request to chat messages, a tool plan and an engine request.

Honoured: ``input`` (a string, or items: messages with text parts, ``developer`` turns as system turns;
``function_call`` items of an earlier response, as the assistant turn's ``tool_calls``;
``function_call_output`` items, as ``tool`` turns), ``instructions`` (a system turn first),
``max_output_tokens``, ``temperature``, ``top_p``, ``text.format`` (``json_object``, ``json_schema`` as a
grammar), function ``tools`` with ``tool_choice`` and ``parallel_tool_calls`` (the chat route's tool
calling: ``tools.plan``), and the llama.cpp knobs the other routes take (``seed``, ``stop``, ``top_k``,
...). Accepted as bookkeeping or hints: ``store`` (nothing is stored), ``metadata`` and ``user``
(echoed), ``truncation``, ``max_tool_calls``, ``service_tier``, ``prompt_cache_key``,
``safety_identifier``, ``stream_options``, ``include`` (except output logprobs), ``reasoning.effort``
``"none"``, ``text.verbosity`` ``"medium"``. Refused with a 400: tools of other types (``web_search``,
``file_search``, ...) and ``tool_choice`` objects other than a function, ``text.format`` JSON together
with offered tools, ``previous_response_id`` and ``conversation`` (nothing is stored), ``background``,
``prompt`` templates, ``reasoning``, ``top_logprobs``, non-text input (images, files), a
``function_call_output`` whose ``call_id`` no ``function_call`` of the input has.
"""

from __future__ import annotations

from typing import Any

from llamanet.api.errors import clip
from llamanet.api.responses_schemas import InputItem, InputPart, ResponsesRequest, TextConfig, ToolChoiceItem
from llamanet.api.tools import Named, ToolPlan, plan
from llamanet.api.translate import generation_request
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.grammar import json_grammar
from llamanet.engine.params import GenerationRequest
from llamanet.engine.tool_format import Function

ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
TEXT_PARTS = ("input_text", "output_text", "text")
LOGPROBS_INCLUDE = "message.output_text.logprobs"
NOT_STORED = (
    "responses are not stored on this node (store is accepted, nothing is kept); send the turns as input"
)


def _refuse(param: str, why: str) -> InvalidRequestError:
    return InvalidRequestError(f"{param} is not supported: {why}", param=param)


def check(body: ResponsesRequest) -> None:
    """Raise a 400 for every field that would change the output and is not honoured."""
    if body.previous_response_id is not None:
        raise _refuse("previous_response_id", NOT_STORED)
    if body.conversation is not None:
        raise _refuse("conversation", NOT_STORED)
    if body.background:
        raise _refuse("background", "responses run in the foreground")
    if body.prompt is not None:
        raise _refuse("prompt", "stored prompt templates do not exist here; send input and instructions")
    if body.reasoning is not None and body.reasoning.effort not in (None, "none"):
        raise _refuse("reasoning", "the models served here do not reason")
    if body.top_logprobs or LOGPROBS_INCLUDE in (body.include or []):
        raise _refuse("top_logprobs", "logprobs are served by /v1/chat/completions")
    if body.text is not None and body.text.verbosity not in (None, "medium"):
        raise _refuse("text.verbosity", "the answer's length is set by max_output_tokens")


def tool_plan(body: ResponsesRequest) -> ToolPlan | None:
    """The request's function tools and ``tool_choice`` as the chat route's plan; None without tools."""
    functions = []
    for i, tool in enumerate(body.tools or ()):
        if tool.type != "function":
            raise _refuse(f"tools[{i}].type", f"tools of type {clip(tool.type)!r} (function tools only)")
        if tool.name is None:
            raise InvalidRequestError(f"tools[{i}].name is required", param=f"tools[{i}].name")
        functions.append(Function(tool.name, tool.description, tool.parameters))
    choice: str | Named | None = None
    if isinstance(body.tool_choice, ToolChoiceItem):
        if body.tool_choice.type != "function":
            kind = clip(body.tool_choice.type)
            raise _refuse(
                "tool_choice", f"a tool_choice of type {kind!r} (none, auto, required or a function)"
            )
        if body.tool_choice.name is None:
            raise InvalidRequestError("tool_choice.name is required", param="tool_choice.name")
        choice = Named(body.tool_choice.name)
    else:
        choice = body.tool_choice
    fmt = body.text.format if body.text is not None else None
    conflicts = (
        [("text.format", "text.format cannot be combined with tools")] if fmt and fmt.type != "text" else []
    )
    return plan(
        tuple(functions),
        choice,
        parallel=body.parallel_tool_calls is not False,
        name_param="tools[{}].name",
        conflicts=conflicts,
    )


def messages(body: ResponsesRequest) -> list[dict[str, Any]]:
    """Chat turns: ``instructions`` as a system turn, then the input; calls join the assistant turn
    before them, outputs are ``tool`` turns."""
    out: list[dict[str, Any]] = (
        [{"role": "system", "content": body.instructions}] if body.instructions else []
    )
    if isinstance(body.input, str):
        return [*out, {"role": "user", "content": body.input}]
    names: dict[str, str] = {}  # call_id: function name, of the calls so far
    for i, item in enumerate(body.input):
        where = f"input[{i}]"
        if item.type == "function_call":
            call = _call(item, where)
            names[call["id"]] = call["function"]["name"]
            if out and out[-1]["role"] == "assistant":
                out[-1].setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif item.type == "function_call_output":
            out.append(_output(item, where, names))
        elif item.type == "message":
            role = ROLES.get(item.role or "")
            if role is None:
                raise InvalidRequestError(
                    f"{where}.role must be one of {', '.join(ROLES)}", param=f"{where}.role"
                )
            out.append({"role": role, "content": _text(item.content, f"{where}.content")})
        else:
            kinds = "messages, function_call and function_call_output"
            raise _refuse(f"{where}.type", f"input items of type {clip(item.type)!r} ({kinds} only)")
    return out


def _required(item: InputItem, where: str, *fields: str) -> None:
    for name in fields:
        if getattr(item, name) is None:
            raise InvalidRequestError(f"{where}.{name} is required", param=f"{where}.{name}")


def _call(item: InputItem, where: str) -> dict[str, Any]:
    _required(item, where, "call_id", "name", "arguments")
    return {
        "id": item.call_id,
        "type": "function",
        "function": {"name": item.name, "arguments": item.arguments},
    }


def _output(item: InputItem, where: str, names: dict[str, str]) -> dict[str, Any]:
    _required(item, where, "call_id")
    assert item.call_id is not None
    if item.call_id not in names:
        raise InvalidRequestError(
            f"{where}.call_id {clip(item.call_id)!r} answers no function_call of the input",
            param=f"{where}.call_id",
        )
    content = _text(item.output, f"{where}.output")
    return {"role": "tool", "tool_call_id": item.call_id, "name": names[item.call_id], "content": content}


def _text(content: str | list[InputPart] | None, param: str) -> str:
    if content is None:
        raise InvalidRequestError(f"{param} is required", param=param)
    if isinstance(content, str):
        return content
    parts = []
    for j, part in enumerate(content):
        if part.type not in TEXT_PARTS or part.text is None:
            raise _refuse(f"{param}[{j}]", f"content of type {clip(part.type)!r} (text only)")
        parts.append(part.text)
    return "".join(parts)


def grammar(text: TextConfig | None) -> str | None:
    """``json_object``: any JSON; ``json_schema``: JSON valid for ``schema``; ``text``: none."""
    fmt = text.format if text is not None else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_schema" and fmt.schema_ is None:
        raise InvalidRequestError("text.format json_schema needs a schema", param="text.format.schema")
    try:
        return json_grammar(fmt.schema_ if fmt.type == "json_schema" else None)
    except InvalidRequestError as exc:
        raise InvalidRequestError(str(exc), param="text.format.schema") from exc


def engine_request(
    tokens: list[int],
    body: ResponsesRequest,
    *,
    n_vocab: int,
    n_ctx: int,
    default_max_tokens: int,
    stop: tuple[str, ...],
    tools: ToolPlan | None = None,
) -> GenerationRequest:
    """``tools``: the request's plan; its grammar (forcing calls) before ``text.format``'s."""
    forced = tools.grammar() if tools is not None else None
    return generation_request(
        tokens,
        body,
        n_vocab=n_vocab,
        n_ctx=n_ctx,
        max_tokens=body.max_output_tokens,
        default_max_tokens=default_max_tokens,
        stop=stop,
        grammar=forced or grammar(body.text),
    )
