"""Embeddings: OpenAI's ``POST /v1/embeddings`` and Ollama's ``POST /api/embed`` and ``/api/embeddings``.

Each goes through the swarm as the generation routes do (``dependencies.serve_or_forward`` with
``embeddings=True``): to this node when it was started with ``--embeddings`` and serves the model, else to
a node whose record says it serves embeddings for it, else a 400 (``embeddings_disabled``). Here the
request runs on the engine's embedding context (``engine.embedder``, a thread of its own); the answer is
rendered off the event loop too (a few hundred vectors are megabytes of JSON). Ollama's routes answer
errors in Ollama's shape (``ollama_routes.OllamaRoute``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from llamanet.api import streaming
from llamanet.api.dependencies import engine_for, node_of, serve_or_forward
from llamanet.api.embeddings import (
    EmbeddingRequest,
    OllamaEmbeddingsRequest,
    OllamaEmbedRequest,
    check_dimensions,
    encode,
    ollama_answer,
    ollama_inputs,
    openai_answer,
    openai_inputs,
)
from llamanet.api.errors import ApiError
from llamanet.api.ollama_routes import OllamaRoute
from llamanet.engine.embedder import Embedder, Embeddings, Input
from llamanet.node import Node
from llamanet.routing.decision import target_model

openai_router = APIRouter(prefix="/v1")
ollama_router = APIRouter(prefix="/api", route_class=OllamaRoute)


def embedder_for(node: Node, model: str | None) -> Embedder:
    """This node's embedder for ``model``: 404 for another model, 400 without ``--embeddings``."""
    if target_model(model, node.model_name) == node.model_name and not node.settings.embeddings:
        raise ApiError(
            400,
            "this node was started without --embeddings: it serves no embeddings "
            "(start it with --embeddings, or EMBEDDINGS=true)",
            param="model",
            code="embeddings_disabled",
        )
    embedder = engine_for(node, model).embedder
    assert embedder is not None, "--embeddings loads the embedder with the engine"
    return embedder


async def _embed(
    request: Request, embedder: Embedder, inputs: Sequence[Input], truncate: bool
) -> Embeddings | None:
    """The embeddings of ``inputs`` (none for no input); None when the client left first."""
    if not inputs:
        return Embeddings(np.empty((0, embedder.dimensions), dtype=np.float32), 0)
    return await streaming.unless_disconnected(request, embedder.embed(inputs, truncate=truncate))


async def _render(answer: Callable[[], dict[str, Any]]) -> Response:
    """The JSON answer, built and encoded on a worker thread."""
    return await asyncio.to_thread(lambda: JSONResponse(answer()))


def _left() -> Response:
    return Response(status_code=streaming.CLIENT_CLOSED_REQUEST)


# --- OpenAI ----------------------------------------------------------------------------------------
async def embeddings_here(request: Request, body: EmbeddingRequest) -> EmbeddingRequest:
    await serve_or_forward(request, body.model, stream=False, embeddings=True)
    return body


@openai_router.post("/embeddings", response_model=None)
async def embeddings(
    body: Annotated[EmbeddingRequest, Depends(embeddings_here)], request: Request
) -> Response:
    node = node_of(request)
    embedder = embedder_for(node, body.model)
    inputs = openai_inputs(body.input)
    check_dimensions(body.dimensions, embedder.dimensions)
    result = await _embed(request, embedder, inputs, truncate=False)
    if result is None:
        return _left()
    return await _render(
        lambda: openai_answer(node.model_name, result.vectors, body.encoding_format, result.prompt_tokens)
    )


# --- Ollama ----------------------------------------------------------------------------------------
async def embed_here(request: Request, body: OllamaEmbedRequest) -> OllamaEmbedRequest:
    await serve_or_forward(request, body.model, stream=False, embeddings=True)
    return body


async def legacy_here(request: Request, body: OllamaEmbeddingsRequest) -> OllamaEmbeddingsRequest:
    await serve_or_forward(request, body.model, stream=False, embeddings=True)
    return body


@ollama_router.post("/embed", response_model=None)
async def embed(body: Annotated[OllamaEmbedRequest, Depends(embed_here)], request: Request) -> Response:
    node = node_of(request)
    embedder = embedder_for(node, body.model)
    inputs = ollama_inputs(body.input)
    check_dimensions(body.dimensions, embedder.dimensions)
    started = time.monotonic_ns()
    result = await _embed(request, embedder, inputs, body.truncate)
    if result is None:
        return _left()
    took = time.monotonic_ns() - started
    return await _render(lambda: ollama_answer(node.model_name, result.vectors, result.prompt_tokens, took))


@ollama_router.post("/embeddings", response_model=None)
async def embeddings_legacy(
    body: Annotated[OllamaEmbeddingsRequest, Depends(legacy_here)], request: Request
) -> Response:
    """The older route: one ``prompt``, one ``embedding`` (empty for an empty prompt)."""
    node = node_of(request)
    embedder = embedder_for(node, body.model)
    result = await _embed(request, embedder, [body.prompt] if body.prompt else [], truncate=True)
    if result is None:
        return _left()
    vectors = result.vectors
    return await _render(lambda: {"embedding": encode(vectors[0], "float") if len(vectors) else []})
