"""Pure translation of a Responses API request to chat messages and an engine request.

Honoured: ``input`` (a string, or message items with text parts; ``developer`` turns are system turns),
``instructions`` (a system turn first), ``max_output_tokens``, ``temperature``, ``top_p``, ``text.format``
(``json_object``, ``json_schema`` as a grammar), and the llama.cpp knobs the other routes take (``seed``,
``stop``, ``top_k``, ...). Accepted as bookkeeping or hints: ``store`` (nothing is stored), ``metadata``
and ``user`` (echoed), ``truncation``, ``parallel_tool_calls``, ``max_tool_calls``, ``service_tier``,
``prompt_cache_key``, ``safety_identifier``, ``stream_options``, ``include`` (except output logprobs),
``tool_choice`` ``"none"`` / ``"auto"`` without tools, ``reasoning.effort`` ``"none"``, ``text.verbosity``
``"medium"``. Refused with a 400: ``tools``, other ``tool_choice``s, ``previous_response_id`` and
``conversation`` (nothing is stored), ``background``, ``prompt`` templates, ``reasoning``, ``top_logprobs``,
non-text input (images, files, tool outputs).
"""

from __future__ import annotations

from llamanet.api.responses_schemas import InputPart, ResponsesRequest, TextConfig
from llamanet.api.translate import generation_request
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.grammar import json_grammar
from llamanet.engine.params import GenerationRequest

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
    if body.tools:
        raise _refuse("tools", "tool calling is not available on this node yet")
    if body.tool_choice not in (None, "none", "auto"):
        raise _refuse("tool_choice", "there are no tools to call")
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


def messages(body: ResponsesRequest) -> list[dict[str, str]]:
    """Chat turns: ``instructions`` as a system turn, then the input."""
    out = [{"role": "system", "content": body.instructions}] if body.instructions else []
    if isinstance(body.input, str):
        return [*out, {"role": "user", "content": body.input}]
    for i, item in enumerate(body.input):
        where = f"input[{i}]"
        if item.type != "message":
            raise _refuse(f"{where}.type", f"input items of type {item.type!r} (text messages only)")
        role = ROLES.get(item.role or "")
        if role is None:
            raise InvalidRequestError(
                f"{where}.role must be one of {', '.join(ROLES)}", param=f"{where}.role"
            )
        out.append({"role": role, "content": _text(item.content, where)})
    return out


def _text(content: str | list[InputPart] | None, where: str) -> str:
    if content is None:
        raise InvalidRequestError(f"{where}.content is required", param=f"{where}.content")
    if isinstance(content, str):
        return content
    parts = []
    for j, part in enumerate(content):
        if part.type not in TEXT_PARTS or part.text is None:
            raise _refuse(f"{where}.content[{j}]", f"content of type {part.type!r} (text only)")
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
) -> GenerationRequest:
    return generation_request(
        tokens,
        body,
        n_vocab=n_vocab,
        n_ctx=n_ctx,
        max_tokens=body.max_output_tokens,
        default_max_tokens=default_max_tokens,
        stop=stop,
        grammar=grammar(body.text),
    )
