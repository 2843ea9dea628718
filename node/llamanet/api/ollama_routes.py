"""Ollama's API: ``/api/chat``, ``/api/generate`` (NDJSON streams by default, ``stream: false`` for one
object), ``/api/tags``, ``/api/show``, ``/api/ps``, ``/api/version`` (``/api/embed``: ``embeddings_routes``).

Requests for a model another node serves are forwarded (``dependencies.serve_or_forward``, as the OpenAI
routes do). Every error of these routes, validation and routing errors included, is Ollama-shaped:
``{"error": "..."}`` with the same status the OpenAI routes give (``OllamaRoute``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from llamanet.api import streaming
from llamanet.api.dependencies import (
    Forwarded,
    chat_leading,
    engine_for,
    node_of,
    serve_or_forward,
    serve_or_forward_chat,
)
from llamanet.api.errors import ApiError, _validation_message, from_exception
from llamanet.api.ollama_schemas import (
    OllamaChatRequest,
    OllamaGenerateRequest,
    OllamaShowRequest,
)
from llamanet.api.ollama_shapes import (
    NDJSON,
    Kind,
    chunk,
    error_body,
    final,
    loaded,
    ndjson,
    ndjson_template,
    ps_entry,
    show_body,
    tag_entry,
    timestamp,
)
from llamanet.api.ollama_translate import (
    chat_messages,
    check_chat,
    check_generate,
    engine_request,
    generate_messages,
    is_load_only,
)
from llamanet.api.submit import submit
from llamanet.engine.engine import Generation
from llamanet.engine.events import Finished, TokenDelta
from llamanet.engine.params import GenerationRequest
from llamanet.node import Node


def ollama_error(exc: Exception) -> JSONResponse:
    err = from_exception(exc)
    return JSONResponse(error_body(err.message), status_code=err.status, headers=err.headers)


class OllamaRoute(APIRoute):
    """Answers every error of the route, from body validation on, in Ollama's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Forwarded as exc:
                return exc.response
            except RequestValidationError as exc:
                return ollama_error(ApiError(400, _validation_message(exc)[0]))
            except Exception as exc:
                return ollama_error(exc)

        return route


router = APIRouter(prefix="/api", route_class=OllamaRoute)


async def chat_here(request: Request, body: OllamaChatRequest) -> OllamaChatRequest:
    turns = [(m.role, m.content) for m in body.messages]
    await serve_or_forward_chat(request, body.model, body.stream, turns)
    return body


async def generate_here(request: Request, body: OllamaGenerateRequest) -> OllamaGenerateRequest:
    leading = (
        chat_leading(request, [("system", body.system), ("user", body.prompt)])
        if body.system
        else body.prompt
    )
    await serve_or_forward(request, body.model, body.stream, leading)
    return body


async def show_here(request: Request, body: OllamaShowRequest) -> OllamaShowRequest:
    if body.target() is None:
        raise ApiError(400, "model is required", param="model")
    await serve_or_forward(request, body.target(), stream=False)
    return body


@router.post("/chat", response_model=None)
async def chat(body: Annotated[OllamaChatRequest, Depends(chat_here)], request: Request) -> Response:
    node = node_of(request)
    engine = engine_for(node, body.model)
    check_chat(body)
    if is_load_only(body):
        return JSONResponse(loaded("chat", node.model_name, timestamp(time.time())))

    def build() -> list[GenerationRequest]:  # off the event loop when the body is large (``submit``)
        req = engine_request(
            engine.tokenize_chat(chat_messages(body)),
            body,
            n_vocab=engine.vocab_size,
            n_ctx=engine.context_size,
            default_max_tokens=node.settings.max_tokens_default,
            stop=engine.chat_stop,
        )
        return [req]

    (gen,) = await submit(request, engine, build)
    return await _answer(request, node, "chat", gen, body.stream, bool(body.logprobs))


@router.post("/generate", response_model=None)
async def generate(
    body: Annotated[OllamaGenerateRequest, Depends(generate_here)], request: Request
) -> Response:
    node = node_of(request)
    engine = engine_for(node, body.model)
    check_generate(body)
    if is_load_only(body):
        return JSONResponse(loaded("generate", node.model_name, timestamp(time.time())))

    def build() -> list[GenerationRequest]:  # off the event loop when the body is large (``submit``)
        stop: tuple[str, ...] = ()
        if body.raw:
            tokens = engine.tokenize_text(body.prompt or "")
        else:
            tokens, stop = engine.tokenize_chat(generate_messages(body)), engine.chat_stop
        req = engine_request(
            tokens,
            body,
            n_vocab=engine.vocab_size,
            n_ctx=engine.context_size,
            default_max_tokens=node.settings.max_tokens_default,
            stop=stop,
        )
        return [req]

    (gen,) = await submit(request, engine, build)
    return await _answer(request, node, "generate", gen, body.stream, bool(body.logprobs))


async def _answer(
    request: Request, node: Node, kind: Kind, gen: Generation, stream: bool, logprobs_wanted: bool
) -> Response:
    created = timestamp(time.time())
    if stream:
        return streaming.ClosingStreamingResponse(
            _lines(node, kind, gen, created), headers={"content-type": NDJSON}
        )
    results = await streaming.collect(request, [gen], node.metrics)
    if results is None:
        return Response(status_code=streaming.CLIENT_CLOSED_REQUEST)
    res = results[0]
    assert res.finished is not None
    logprobs = res.logprobs if logprobs_wanted else None
    return JSONResponse(final(kind, node.model_name, created, res.finished, res.text, logprobs))


async def _lines(node: Node, kind: Kind, gen: Generation, created: str) -> AsyncIterator[bytes]:
    """NDJSON: a line per token, then the ``done`` line; an error ends the stream as an error line."""
    text = ndjson_template(chunk(kind, node.model_name, created, streaming.HOLE))
    async for event in streaming.events(gen, node.metrics):
        if isinstance(event, TokenDelta):
            if event.logprob is not None:
                yield ndjson(chunk(kind, node.model_name, created, event.text, [event.logprob]))
            elif event.text:
                yield text(event.text)
        elif isinstance(event, Finished):
            yield ndjson(final(kind, node.model_name, created, event, event.text_tail))
        else:
            yield ndjson(error_body(from_exception(event.error).message))


@router.get("/tags")
async def tags(request: Request) -> dict[str, Any]:
    """Every model of the swarm (as ``/v1/models``); sizes and family for this node's own model."""
    node = node_of(request)
    modified = timestamp(node.started_at)
    own = node.engine.info if node.engine is not None else None
    models = sorted(await node.models())
    return {"models": [tag_entry(m, modified, own if m == node.model_name else None) for m in models]}


@router.get("/ps")
async def ps(request: Request) -> dict[str, Any]:
    """The model loaded in this node (none while it loads)."""
    node = node_of(request)
    if node.engine is None:
        return {"models": []}
    info = node.engine.info
    return {"models": [ps_entry(node.model_name, info, info.n_gpu_layers != 0)]}


@router.post("/show")
async def show(body: Annotated[OllamaShowRequest, Depends(show_here)], request: Request) -> dict[str, Any]:
    node = node_of(request)
    engine = engine_for(node, body.target())
    started = timestamp(node.started_at)
    return show_body(
        node.model_name, engine.info, engine.template.source, started, engine.embedder is not None
    )


@router.get("/version")
async def version(request: Request) -> dict[str, str]:
    return {"version": node_of(request).version}
