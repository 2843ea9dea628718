"""OpenAI-compatible API: ``/v1/models``, ``/v1/completions``, ``/v1/chat/completions``."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from llamanet.api import streaming, tools
from llamanet.api.dependencies import chat_here, completion_here, engine_for, node_of
from llamanet.api.errors import ApiError, clip, from_exception
from llamanet.api.openai_shapes import chat_logprob, completion_logprobs, timings, usage
from llamanet.api.schemas import ChatCompletionRequest, CompletionRequest
from llamanet.api.submit import chat_requests, completion_requests, submit
from llamanet.api.tools import tool_plan
from llamanet.engine.engine import Generation
from llamanet.engine.events import Finished, TokenDelta
from llamanet.engine.tool_parse import ToolCallParser
from llamanet.node import Node

router = APIRouter(prefix="/v1")


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    node = node_of(request)
    models = await node.models()
    return {"object": "list", "data": [_model_card(node, m, ids) for m, ids in sorted(models.items())]}


@router.get("/models/{model_id}")
async def get_model(model_id: str, request: Request) -> dict[str, Any]:
    node = node_of(request)
    models = await node.models()
    if model_id not in models:
        raise ApiError(
            404,
            f"model {clip(model_id)!r} not found; available: {clip(', '.join(sorted(models)), 1024)}",
            param="model",
            code="model_not_found",
        )
    return _model_card(node, model_id, models[model_id])


def _model_card(node: Node, model: str, node_ids: list[str]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "id": model,
        "object": "model",
        "created": int(node.started_at),
        "owned_by": "llamanet",
        "meta": {"nodes": node_ids},
    }
    if model == node.model_name and node.engine is not None:
        card["meta"].update(n_ctx=node.engine.context_size, architecture=node.engine.info.architecture)
    return card


# --- chat ------------------------------------------------------------------------------------------
@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: Annotated[ChatCompletionRequest, Depends(chat_here)], request: Request
) -> Response:
    if body.stream:
        return _sse(await chat_stream(request, body))
    node = node_of(request)
    engine = engine_for(node, body.model)
    plan = tool_plan(body)
    (gen,) = await submit(request, engine, lambda: chat_requests(engine, node, body, plan))
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    parser = plan.parser() if plan is not None else None
    results = await streaming.collect(request, [gen], node.metrics)
    if results is None:
        return Response(status_code=streaming.CLIENT_CLOSED_REQUEST)
    result = results[0]
    assert result.finished is not None
    logprobs = {"content": [chat_logprob(lp) for lp in result.logprobs]} if body.logprobs else None
    answer, calls = tools.message(result.text, parser)
    return JSONResponse(
        {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": node.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": answer,
                    "logprobs": logprobs,
                    "finish_reason": tools.finish_reason(result.finished, calls),
                }
            ],
            "usage": usage([result.finished]),
            "timings": timings(result.finished),
        }
    )


async def chat_stream(request: Request, body: ChatCompletionRequest) -> AsyncIterator[bytes]:
    """A streamed chat completion's events, served here (the route's, and a resumed stream's rest)."""
    node = node_of(request)
    engine = engine_for(node, body.model)
    plan = tool_plan(body)
    (gen,) = await submit(request, engine, lambda: chat_requests(engine, node, body, plan))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    parser = plan.parser() if plan is not None else None
    return _chat_chunks(node, gen, f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), include_usage, parser)


async def _chat_chunks(
    node: Node,
    gen: Generation,
    cid: str,
    created: int,
    include_usage: bool,
    parser: ToolCallParser | None = None,
) -> AsyncIterator[bytes]:
    def data(delta: dict[str, Any], finish: str | None = None, logprobs: Any = None) -> dict[str, Any]:
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": node.model_name,
            "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
        }

    def chunk(delta: dict[str, Any], finish: str | None = None, logprobs: Any = None) -> bytes:
        return streaming.sse(data(delta, finish, logprobs))

    content = streaming.sse_template(data({"content": streaming.HOLE}))
    deltas = tools.StreamDeltas()
    role_sent = False  # sent with the first token, so nothing reaches a forwarding node before it
    async for event in streaming.events(gen, node.metrics):
        if not role_sent:
            role_sent = True
            yield chunk({"role": "assistant", "content": ""})
        if isinstance(event, TokenDelta):
            if parser is not None:
                for delta in deltas(parser.feed(event.text)):
                    yield chunk(delta)
            elif event.logprob:
                lp = {"content": [chat_logprob(event.logprob)]}
                yield chunk({"content": event.text}, logprobs=lp)
            elif event.text:
                yield content(event.text)
        elif isinstance(event, Finished):
            if parser is not None:
                for delta in deltas(parser.feed(event.text_tail) + parser.finish()):
                    yield chunk(delta)
            elif event.text_tail:
                yield chunk({"content": event.text_tail})
            yield chunk({}, tools.finish_reason(event, parser.calls if parser else 0))
            if include_usage:
                yield streaming.sse(
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": node.model_name,
                        "choices": [],
                        "usage": usage([event]),
                        "timings": timings(event),
                    }
                )
        else:
            yield streaming.sse(from_exception(event.error).body())
    yield streaming.sse("[DONE]")


# --- completions -----------------------------------------------------------------------------------
@router.post("/completions", response_model=None)
async def completions(
    body: Annotated[CompletionRequest, Depends(completion_here)], request: Request
) -> Response:
    if body.stream:
        return _sse(await completion_stream(request, body))
    node = node_of(request)
    engine = engine_for(node, body.model)
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    gens = await submit(request, engine, lambda: completion_requests(engine, node, body, prompts))
    cid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    echo: Callable[[int], str] = (lambda i: prompts[i]) if body.echo else (lambda i: "")
    results = await streaming.collect(request, gens, node.metrics)
    if results is None:
        return Response(status_code=streaming.CLIENT_CLOSED_REQUEST)
    choices = []
    for i, res in enumerate(results):
        assert res.finished is not None
        lp = completion_logprobs(res.logprobs, len(echo(i))) if body.logprobs is not None else None
        choices.append(
            {
                "index": i,
                "text": echo(i) + res.text,
                "logprobs": lp,
                "finish_reason": res.finished.finish_reason,
            }
        )
    done = [r.finished for r in results if r.finished]
    answer: dict[str, Any] = {
        "id": cid,
        "object": "text_completion",
        "created": created,
        "model": node.model_name,
        "choices": choices,
        "usage": usage(done),
    }
    if len(done) == 1:  # llama-server's timings are one generation's
        answer["timings"] = timings(done[0])
    return JSONResponse(answer)


async def completion_stream(request: Request, body: CompletionRequest) -> AsyncIterator[bytes]:
    """A streamed completion's events, served here (the route's, and a resumed stream's rest: no echo,
    the client had it)."""
    node = node_of(request)
    engine = engine_for(node, body.model)
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    gens = await submit(request, engine, lambda: completion_requests(engine, node, body, prompts))
    echoed = body.echo and body.llamanet_continuation is None
    echo: Callable[[int], str] = (lambda i: prompts[i]) if echoed else (lambda i: "")
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    cid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    return _completion_chunks(node, gens, cid, created, include_usage, echo)


async def _completion_chunks(
    node: Node,
    gens: list[Generation],
    cid: str,
    created: int,
    include_usage: bool,
    echo: Callable[[int], str],
) -> AsyncIterator[bytes]:
    def data(i: int, text: str, finish: str | None = None, logprobs: Any = None) -> dict[str, Any]:
        return {
            "id": cid,
            "object": "text_completion",
            "created": created,
            "model": node.model_name,
            "choices": [{"index": i, "text": text, "logprobs": logprobs, "finish_reason": finish}],
        }

    def chunk(i: int, text: str, finish: str | None = None, logprobs: Any = None) -> bytes:
        return streaming.sse(data(i, text, finish, logprobs))

    finished: list[Finished] = []
    try:
        for i, gen in enumerate(gens):
            if echo(i):
                yield chunk(i, echo(i))
            text = streaming.sse_template(data(i, streaming.HOLE))
            async for event in streaming.events(gen, node.metrics):
                if isinstance(event, TokenDelta):
                    if event.logprob:
                        yield chunk(i, event.text, logprobs=completion_logprobs([event.logprob]))
                    elif event.text:
                        yield text(event.text)
                elif isinstance(event, Finished):
                    finished.append(event)
                    yield chunk(i, event.text_tail, event.finish_reason)
                else:
                    yield streaming.sse(from_exception(event.error).body())
                    return
        if include_usage:
            yield streaming.sse(
                {
                    "id": cid,
                    "object": "text_completion",
                    "created": created,
                    "model": node.model_name,
                    "choices": [],
                    "usage": usage(finished),
                    **({"timings": timings(finished[0])} if len(finished) == 1 else {}),
                }
            )
        yield streaming.sse("[DONE]")
    finally:
        for g in gens:
            g.cancel()


def _sse(chunks: AsyncIterator[bytes]) -> streaming.EventStreamResponse:
    return streaming.EventStreamResponse(chunks)
