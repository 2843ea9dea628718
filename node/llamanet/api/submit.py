"""From a validated body to running generations: render and tokenize the prompt(s), compile the grammar
and build each sampler (off the event loop when the body is large: ``offload``), then submit.

Every sampler built is either handed to the engine or freed, whatever fails on the way. A body with a
``Continuation`` (a resumed stream, ``routing.resume``) gets its already generated text appended to the
prompt (``_resumed``).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from llamanet.api.offload import prepare
from llamanet.api.schemas import ChatCompletionRequest, CompletionRequest, Continued, GenerateRequest
from llamanet.api.tools import ToolPlan
from llamanet.api.translate import chat_messages, generation_request, grammar_from
from llamanet.engine.engine import Engine, Generation
from llamanet.engine.params import GenerationRequest
from llamanet.engine.sampler import Sampler
from llamanet.node import Node

Prepared = list[tuple[GenerationRequest, Sampler]]


def close_samplers(prepared: Prepared) -> None:
    for _, sampler in prepared:
        sampler.close()


async def submit(
    request: Request, engine: Engine, build: Callable[[], list[GenerationRequest]]
) -> list[Generation]:
    """The generations of ``build()``'s requests, prepared off the loop when ``request`` is large."""

    def ready() -> Prepared:
        out: Prepared = []
        try:
            for req in build():
                out.append((req, engine.sampler_for(req)))
        except BaseException:
            close_samplers(out)
            raise
        return out

    prepared = await prepare(request, ready, discard=close_samplers)
    gens: list[Generation] = []
    try:
        for req, sampler in prepared:
            gens.append(engine.submit(req, sampler))  # frees its sampler if it raises
    except Exception:
        for g in gens:
            g.cancel()
        close_samplers(prepared[len(gens) + 1 :])
        raise
    return gens


def _resumed(engine: Engine, body: Continued) -> list[int] | None:
    """The tokens of the text a continued request already produced (None: not a continuation)."""
    cont = body.llamanet_continuation
    return None if cont is None else engine.tokenize_continuation(cont.text)


def chat_requests(
    engine: Engine, node: Node, body: ChatCompletionRequest, tools: ToolPlan | None = None
) -> list[GenerationRequest]:
    """``tools``: the request's tool plan (offered functions and the grammar forcing calls)."""
    forced = tools.grammar() if tools is not None else None
    req = generation_request(
        engine.tokenize_chat(chat_messages(body.messages), tools.offered if tools is not None else None),
        body,
        n_vocab=engine.vocab_size,
        n_ctx=engine.context_size,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        default_max_tokens=node.settings.max_tokens_default,
        stop=engine.chat_stop,
        grammar=forced or grammar_from(body.response_format),
        logprobs=(body.top_logprobs or 0) if body.logprobs else None,
        resumed=_resumed(engine, body),
    )
    return [req]


def completion_requests(
    engine: Engine, node: Node, body: CompletionRequest, prompts: list[str]
) -> list[GenerationRequest]:
    grammar = grammar_from(body.response_format)
    return [
        generation_request(
            engine.tokenize_text(p),
            body,
            n_vocab=engine.vocab_size,
            n_ctx=engine.context_size,
            max_tokens=body.max_tokens,
            default_max_tokens=node.settings.max_tokens_default,
            grammar=grammar,
            logprobs=body.logprobs,
            resumed=_resumed(engine, body),
        )
        for p in prompts
    ]


def generate_requests(engine: Engine, node: Node, body: GenerateRequest) -> list[GenerationRequest]:
    stop: tuple[str, ...] = ()
    if body.raw:
        tokens = engine.tokenize_text(body.prompt)
    else:  # like Ollama's /api/generate: the prompt is a user turn of the model's chat template
        tokens = engine.tokenize_chat([{"role": "user", "content": body.prompt}])
        stop = engine.chat_stop
    req = generation_request(
        tokens,
        body,
        n_vocab=engine.vocab_size,
        n_ctx=engine.context_size,
        max_tokens=body.max_tokens,
        default_max_tokens=node.settings.max_tokens_default,
        stop=stop,
        resumed=_resumed(engine, body),
    )
    return [req]
