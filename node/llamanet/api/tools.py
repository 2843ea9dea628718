"""Tool calling (pure): what a request's ``tools`` and ``tool_choice`` mean for the prompt, the grammar
and the answer (``plan``, shared by ``/v1/chat/completions`` and ``/v1/responses``), and the chat
answer's shapes (message, stream deltas).

- ``none``: the functions are not offered; a plain answer (earlier tool turns are still rendered).
- ``auto`` (the default with tools): offered; calls are parsed from what the model writes.
- ``required``: offered, and a grammar forces one or more calls (one without ``parallel_tool_calls``)
  of any of them, arguments valid for the function's schema.
- ``{"type": "function", "function": {"name": ...}}`` (``Named``): the same, forcing one call of that function
  (one: small models given room for more repeat the call until ``max_tokens``).

Refused with a 400: an unknown function in ``tool_choice``, ``required`` / named without ``tools``,
two functions of one name, a parameters schema past the grammar bounds (``schema_too_complex``), the
deprecated ``functions`` / ``function_call``, and, with tools offered, ``logprobs`` and
``response_format``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llamanet.api.schemas import ChatCompletionRequest, NamedToolChoice
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.events import Finished
from llamanet.engine.schema_limits import check_schema
from llamanet.engine.tool_format import TOOLS_SUBJECT, Function, call_grammar
from llamanet.engine.tool_parse import CallArguments, CallStart, Piece, Text, ToolCallParser, collect


@dataclass(frozen=True)
class ToolPlan:
    offered: tuple[Function, ...]  # in the prompt; empty with ``tool_choice: "none"``
    forced: tuple[Function, ...]  # a grammar forces a call of one of these; empty: free text
    parallel: bool

    def grammar(self) -> str | None:
        return call_grammar(self.forced, parallel=self.parallel) if self.forced else None

    def parser(self) -> ToolCallParser | None:
        if not self.offered:
            return None
        return ToolCallParser([f.name for f in self.forced or self.offered], parallel=self.parallel)


@dataclass(frozen=True)
class Named:
    """A ``tool_choice`` naming the function to call."""

    name: str


def _refuse(param: str, message: str, code: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code=code)


def tool_plan(body: ChatCompletionRequest) -> ToolPlan | None:
    """The request's tool calling, validated; None when it has no tools."""
    if body.functions is not None or body.function_call is not None:
        param = "functions" if body.functions is not None else "function_call"
        raise _refuse(param, f"{param} is deprecated and not supported: use tools and tool_choice")
    functions = tuple(
        Function(t.function.name, t.function.description, t.function.parameters) for t in body.tools or ()
    )
    choice = body.tool_choice
    conflicts = []
    if body.logprobs:
        conflicts.append(("logprobs", "logprobs are not available together with tools"))
    if body.response_format is not None and body.response_format.type != "text":
        conflicts.append(("response_format", "response_format cannot be combined with tools"))
    return plan(
        functions,
        Named(choice.function.name) if isinstance(choice, NamedToolChoice) else choice,
        parallel=body.parallel_tool_calls is not False,
        name_param="tools[{}].function.name",
        conflicts=conflicts,
    )


def plan(
    functions: tuple[Function, ...],
    choice: str | Named | None,
    *,
    parallel: bool,
    name_param: str,
    conflicts: Sequence[tuple[str, str]] = (),
) -> ToolPlan | None:
    """The plan of any route's tools (chat, Responses): ``choice`` ``none`` / ``auto`` (None) /
    ``required`` / ``Named``; ``name_param``: the parameter of tool ``{}``'s name; ``conflicts``:
    ``(param, message)`` of the request's options that cannot go with offered tools."""
    if not functions:
        if choice not in (None, "none", "auto"):
            raise _refuse("tool_choice", "tool_choice needs tools: the request offers no functions")
        return None
    names = [f.name for f in functions]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise _refuse(name_param.format(i), f"two functions are named {name!r}")
    check_schema([f.parameters for f in functions], subject=TOOLS_SUBJECT)
    if choice == "none":
        return ToolPlan((), (), parallel)
    if conflicts:
        raise _refuse(*conflicts[0])
    if choice is None or choice == "auto":
        return ToolPlan(functions, (), parallel)
    if not isinstance(choice, Named):  # "required"
        return ToolPlan(functions, functions, parallel)
    wanted = choice.name
    forced = tuple(f for f in functions if f.name == wanted)
    if not forced:
        shown = wanted if len(wanted) <= 64 else wanted[:64] + "..."
        raise _refuse(
            "tool_choice", f"tool_choice names {shown!r}, which is not among the tools", "unknown_function"
        )
    return ToolPlan(functions, forced, parallel=False)


# --- answers ---------------------------------------------------------------------------------------
def call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def finish_reason(finished: Finished, calls: int) -> str:
    """``tool_calls`` when the model called functions and stopped by itself."""
    return "tool_calls" if calls and finished.finish_reason == "stop" else finished.finish_reason


def message(text: str, parser: ToolCallParser | None) -> tuple[dict[str, Any], int]:
    """A whole answer's assistant message and its number of calls (``parser`` None: no tools)."""
    if parser is None:
        return {"role": "assistant", "content": text}, 0
    content, calls = collect(parser.feed(text) + parser.finish())
    if not calls:
        return {"role": "assistant", "content": content or ""}, 0
    tool_calls = [
        {"id": call_id(), "type": "function", "function": {"name": name, "arguments": args}}
        for name, args in calls
    ]
    return {"role": "assistant", "content": content, "tool_calls": tool_calls}, len(calls)


@dataclass
class StreamDeltas:
    """The ``delta`` objects of streamed pieces, as OpenAI sends them: a call opens with its index, id,
    type, name and empty arguments; its arguments follow in fragments."""

    ids: list[str] = field(default_factory=list)

    def __call__(self, pieces: list[Piece]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for p in pieces:
            if isinstance(p, Text):
                out.append({"content": p.text})
            elif isinstance(p, CallStart):
                self.ids.append(call_id())
                fn = {"name": p.name, "arguments": ""}
                out.append(
                    {
                        "tool_calls": [
                            {"index": p.index, "id": self.ids[-1], "type": "function", "function": fn}
                        ]
                    }
                )
            elif isinstance(p, CallArguments) and p.fragment:
                out.append({"tool_calls": [{"index": p.index, "function": {"arguments": p.fragment}}]})
        return out
