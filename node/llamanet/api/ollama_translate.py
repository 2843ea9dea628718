"""Pure translation of Ollama requests: what is honoured, what is accepted as a hint, what is refused.

Honoured: ``format`` (``"json"`` or a JSON schema, as a grammar), ``options`` ``temperature``, ``top_p``,
``top_k``, ``min_p``, ``repeat_penalty``, ``presence_penalty``, ``frequency_penalty``, ``seed``, ``stop``,
``num_predict`` (-1 and -2: up to the context), ``repeat_last_n``; ``system`` and ``raw`` of
``/api/generate``; ``logprobs`` / ``top_logprobs``. Accepted as hints: ``keep_alive``, ``num_ctx``,
``num_batch``, ``num_gpu``, ``num_thread``, ``num_keep``, ``penalize_newline``, mirostat's tau and eta
while mirostat is off, ``think: false``. Refused with a 400 (they would change the output): images,
``tools`` and tool calls, ``suffix``, ``template``, ``context``, ``think`` on, ``mirostat`` on,
``tfs_z`` / ``typical_p`` other than 1.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from llamanet.api.ollama_schemas import (
    OllamaChatRequest,
    OllamaGenerateRequest,
    OllamaOptions,
    _Generative,
)
from llamanet.api.translate import generation_request
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.grammar import json_grammar
from llamanet.engine.params import GenerationRequest

NO_LIMIT = (-1, -2)  # num_predict: "until the context is full"


def _refuse(param: str, why: str) -> InvalidRequestError:
    return InvalidRequestError(f"{param} is not supported: {why}", param=param)


def check_options(opts: OllamaOptions | None) -> None:
    if opts is None:
        return
    if opts.mirostat:
        raise _refuse("options.mirostat", "Mirostat sampling is not implemented; use 0")
    for name in ("tfs_z", "typical_p"):
        value = getattr(opts, name)
        if value is not None and value != 1.0:
            raise _refuse(f"options.{name}", "this sampler is not implemented; use 1.0")
    if opts.num_predict == 0:
        raise InvalidRequestError("options.num_predict must be positive, -1 or -2", param="options")


def _check_common(body: _Generative) -> None:
    check_options(body.options)
    if body.think not in (None, False):
        raise _refuse("think", "this node does not separate a model's thinking from its answer")


def check_chat(body: OllamaChatRequest) -> None:
    _check_common(body)
    if body.tools:
        raise _refuse("tools", "tool calling is not available on this node yet")
    for i, m in enumerate(body.messages):
        if m.images:
            raise _refuse(f"messages[{i}].images", "this node serves text models only")
        if m.tool_calls:
            raise _refuse(f"messages[{i}].tool_calls", "tool calling is not available on this node yet")


def check_generate(body: OllamaGenerateRequest) -> None:
    _check_common(body)
    if body.images:
        raise _refuse("images", "this node serves text models only")
    if body.suffix:
        raise _refuse("suffix", "fill-in-the-middle is not implemented")
    if body.template:
        raise _refuse("template", "the model's own chat template is used (or raw: true)")
    if body.context:
        raise _refuse("context", "send the conversation to /api/chat instead")


def chat_messages(body: OllamaChatRequest) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content or ""} for m in body.messages]


def generate_messages(body: OllamaGenerateRequest) -> list[dict[str, str]]:
    """``system`` then the prompt as a user turn (for the chat template; ``raw`` skips this)."""
    turns = [{"role": "system", "content": body.system}] if body.system else []
    return [*turns, {"role": "user", "content": body.prompt or ""}]


def is_load_only(body: OllamaChatRequest | OllamaGenerateRequest) -> bool:
    """Ollama answers an empty request by loading the model (``done_reason: "load"``)."""
    if isinstance(body, OllamaChatRequest):
        return not body.messages
    return not body.prompt


def grammar_of(fmt: str | dict[str, Any] | None) -> str | None:
    """``"json"``: any JSON value; a schema: JSON valid for it; ``""`` or absent: free text."""
    if not fmt:
        return None
    try:
        return json_grammar(fmt if isinstance(fmt, dict) else None)
    except InvalidRequestError as exc:
        raise InvalidRequestError(str(exc), param="format") from exc


def engine_request(
    tokens: list[int],
    body: _Generative,
    *,
    n_vocab: int,
    n_ctx: int,
    default_max_tokens: int,
    stop: tuple[str, ...] = (),
) -> GenerationRequest:
    opts = body.options or OllamaOptions.model_validate({})
    predict = opts.num_predict
    max_tokens = max(1, n_ctx - len(tokens)) if predict in NO_LIMIT else predict
    req = generation_request(
        tokens,
        opts,
        n_vocab=n_vocab,
        n_ctx=n_ctx,
        max_tokens=max_tokens,
        default_max_tokens=default_max_tokens,
        stop=stop,
        grammar=grammar_of(body.format),
        logprobs=(body.top_logprobs or 0) if body.logprobs else None,
    )
    if opts.repeat_last_n is not None:
        last_n = n_ctx if opts.repeat_last_n == -1 else opts.repeat_last_n
        req = replace(req, sampling=replace(req.sampling, penalty_last_n=last_n))
    return req
