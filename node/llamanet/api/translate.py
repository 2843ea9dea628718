"""Pure translation from validated request bodies to engine requests; ``generation_request`` is the one
place a ``GenerationRequest`` is assembled."""

from __future__ import annotations

from typing import Any

from llamanet.api.schemas import ChatMessage, ResponseFormat, SamplingFields
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.grammar import json_grammar
from llamanet.engine.params import GenerationRequest, SamplingParams

DEFAULT_TEMPERATURE = 0.8


def sampling_from(body: SamplingFields, n_vocab: int) -> SamplingParams:
    """Absent fields take llama.cpp's defaults; ``temperature: 0`` stays 0 (greedy)."""
    defaults = SamplingParams()
    bias: dict[int, float] = {}
    for key, value in (body.logit_bias or {}).items():
        token = int(key)
        if token >= n_vocab:
            raise InvalidRequestError(
                f"logit_bias token id {token} is outside the vocabulary ({n_vocab})", param="logit_bias"
            )
        bias[token] = value
    return SamplingParams(
        temperature=DEFAULT_TEMPERATURE if body.temperature is None else body.temperature,
        top_p=defaults.top_p if body.top_p is None else body.top_p,
        top_k=defaults.top_k if body.top_k is None else body.top_k,
        min_p=defaults.min_p if body.min_p is None else body.min_p,
        repeat_penalty=defaults.repeat_penalty if body.repeat_penalty is None else body.repeat_penalty,
        presence_penalty=body.presence_penalty or 0.0,
        frequency_penalty=body.frequency_penalty or 0.0,
        seed=None if body.seed is None else body.seed % 2**32,
        logit_bias=bias,
    )


def stop_strings(body: SamplingFields, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    given = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    return tuple(dict.fromkeys([*given, *extra]))


def grammar_from(fmt: ResponseFormat | None) -> str | None:
    """``json_object`` -> any JSON; ``json_schema`` -> a GBNF grammar compiled from the schema."""
    if fmt is None or fmt.type == "text":
        return None
    schema = fmt.json_schema.schema_ if fmt.json_schema is not None else fmt.schema_
    if fmt.type == "json_schema" and schema is None:
        raise InvalidRequestError(
            "response_format json_schema needs json_schema.schema", param="response_format"
        )
    return json_grammar(schema)


def generation_request(
    tokens: list[int],
    body: SamplingFields,
    *,
    n_vocab: int,
    n_ctx: int,
    max_tokens: int | None,
    default_max_tokens: int,
    stop: tuple[str, ...] = (),
    grammar: str | None = None,
    logprobs: int | None = None,
    resumed: list[int] | None = None,
) -> GenerationRequest:
    """The engine request for a tokenized prompt and its body's sampling fields.

    ``resumed``: the tokens an interrupted generation of this request already produced (a continuation,
    ``schemas.Continuation``): they end the prompt, and count against ``max_tokens`` (at least one more
    token is generated: a stream cut right after its last token may end one token longer)."""
    resumed = resumed or []
    limit = resolve_max_tokens(max_tokens, len(tokens), n_ctx, default_max_tokens)
    return GenerationRequest(
        prompt_tokens=tokens + resumed,
        max_tokens=max(1, limit - len(resumed)) if resumed else limit,
        sampling=sampling_from(body, n_vocab),
        stop=stop_strings(body, stop),
        grammar=grammar,
        logprobs=logprobs,
        resumed_tokens=len(resumed),
    )


def resolve_max_tokens(requested: int | None, n_prompt: int, n_ctx: int, default: int) -> int:
    """An explicit value is kept (and checked by the engine); else the default, capped by the context."""
    if requested is not None:
        return requested
    return max(1, min(default, n_ctx - n_prompt))


def chat_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """``{"role", "content"}`` dicts (content is required except on assistant turns), with an assistant
    turn's ``tool_calls`` and a tool turn's ``tool_call_id`` (and ``name``) where given."""
    out = []
    for i, m in enumerate(messages):
        if m.content is None and m.role != "assistant":
            raise InvalidRequestError(f"messages[{i}].content is required", param=f"messages[{i}].content")
        try:
            turn: dict[str, Any] = {"role": m.role, "content": m.text()}
        except ValueError as exc:
            raise InvalidRequestError(f"messages[{i}]: {exc}", param=f"messages[{i}].content") from exc
        if m.tool_calls:
            if m.role != "assistant":
                where = f"messages[{i}].tool_calls"
                raise InvalidRequestError(f"{where}: only assistant turns call tools", param=where)
            turn["tool_calls"] = [c.model_dump() for c in m.tool_calls]
        if m.role == "tool":
            turn.update(tool_call_id=m.tool_call_id, **({"name": m.name} if m.name else {}))
        out.append(turn)
    return out
