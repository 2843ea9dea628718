"""The seed's native API: ``/generate``, ``/generate/stream``, ``/status``, ``/info``, ``/health``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from llamanet.api import streaming
from llamanet.api.dependencies import engine_for, generate_here, node_of, stream_here
from llamanet.api.errors import from_exception
from llamanet.api.schemas import GenerateRequest
from llamanet.api.submit import generate_requests, submit
from llamanet.engine.engine import Generation
from llamanet.engine.events import Finished, TokenDelta
from llamanet.node import Node

router = APIRouter()


async def _submit(request: Request, body: GenerateRequest) -> Generation:
    node = node_of(request)
    engine = engine_for(node, body.model)
    (gen,) = await submit(request, engine, lambda: generate_requests(engine, node, body))
    return gen


def _summary(node: Node, f: Finished) -> dict[str, Any]:
    decode_time = max(f.generation_time - f.time_to_first_token, 1e-9)
    return {
        "tokens_generated": f.completion_tokens,
        "prompt_tokens": f.prompt_tokens,
        "cached_tokens": f.cached_tokens,
        "generation_time": f.generation_time,
        "time_to_first_token": f.time_to_first_token,
        "queue_time": f.queue_time,
        "tokens_per_second": (f.completion_tokens - 1) / decode_time if f.completion_tokens > 1 else 0.0,
        "finish_reason": f.finish_reason,
        "node_id": node.node_id,
        "model": node.model_name,
    }


@router.post("/generate", response_model=None)
async def generate(body: Annotated[GenerateRequest, Depends(generate_here)], request: Request) -> Response:
    node = node_of(request)
    if body.stream:
        return await _stream(request, body)
    gen = await _submit(request, body)
    results = await streaming.collect(request, [gen], node.metrics)
    if results is None:
        return Response(status_code=streaming.CLIENT_CLOSED_REQUEST)
    result = results[0]
    assert result.finished is not None
    return JSONResponse({"text": result.text, **_summary(node, result.finished)})


@router.post("/generate/stream", response_model=None)
async def generate_stream(
    body: Annotated[GenerateRequest, Depends(stream_here)], request: Request
) -> Response:
    return await _stream(request, body)


async def _stream(request: Request, body: GenerateRequest) -> Response:
    return streaming.EventStreamResponse(await native_stream(request, body))


async def native_stream(request: Request, body: GenerateRequest) -> AsyncIterator[bytes]:
    """A streamed generation's events, served here (the routes', and a resumed stream's rest)."""
    node = node_of(request)
    gen = await _submit(request, body)

    token = streaming.sse_template({"text": streaming.HOLE, "finished": False})

    async def body_iter() -> AsyncIterator[bytes]:
        async for event in streaming.events(gen, node.metrics):
            if isinstance(event, TokenDelta):
                if event.text:
                    yield token(event.text)
            elif isinstance(event, Finished):
                if event.text_tail:
                    yield streaming.sse({"text": event.text_tail, "finished": False})
                yield streaming.sse({"text": "", "finished": True, **_summary(node, event)})
            else:
                yield streaming.sse({**from_exception(event.error).body(), "finished": True})

    return body_iter()


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    node = node_of(request)
    if node.engine is None:
        status = "error" if node.load_error else "loading"
        return JSONResponse({"status": status, "detail": node.load_error}, status_code=503)
    return JSONResponse({"status": "ok", "node_id": node.node_id, "model": node.model_name})


@router.get("/status")
async def status(request: Request) -> dict[str, Any]:
    """``llamanet_common.status.NodeStatus``, the shape peers, clients and the operator validate."""
    return node_of(request).status().model_dump(mode="json")


@router.get("/info")
async def info(request: Request) -> dict[str, Any]:
    node = node_of(request)
    settings = node.settings
    out: dict[str, Any] = {
        "node_id": node.node_id,
        "model": node.model_name,
        "version": node.version,
        "host": settings.host,
        "port": settings.port,
        "dht_port": settings.dht_port,
        "n_ctx": settings.n_ctx,
        "n_batch": settings.n_batch,
        "n_parallel": settings.n_parallel,
        "n_gpu_layers": settings.n_gpu_layers,
        "n_threads": settings.n_threads,
        "auth_required": settings.resolved_api_key() is not None,
        "ui_store_history": settings.ui_store_history,
    }
    if node.engine is not None:
        i = node.engine.info
        out.update(
            model_path=str(i.path),
            architecture=i.architecture,
            chat_format=i.chat_format,
            model_size_bytes=i.size_bytes,
            n_ctx_train=i.n_ctx_train,
            n_ctx=i.n_ctx_slot,
        )
        if i.compute is not None:  # backend, devices and the layers llama.cpp got (docs/api.md)
            out["compute"] = i.compute.as_dict()
    return out
