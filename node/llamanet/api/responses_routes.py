"""OpenAI's Responses API: ``POST /v1/responses``, streamed (``responses.stream()``) or not.

A request for a model another node serves is forwarded (``dependencies.serve_or_forward``), as the chat
routes do; errors are OpenAI-shaped like theirs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from llamanet.api import streaming
from llamanet.api.dependencies import chat_leading, engine_for, node_of, serve_or_forward
from llamanet.api.errors import from_exception
from llamanet.api.responses_schemas import ResponsesRequest
from llamanet.api.responses_shapes import ResponseEvents, ResponseHead
from llamanet.api.responses_translate import check, engine_request, messages
from llamanet.api.submit import submit
from llamanet.engine.engine import Generation
from llamanet.engine.events import Finished, TokenDelta
from llamanet.engine.params import GenerationRequest
from llamanet.node import Node

router = APIRouter(prefix="/v1")


async def responses_here(request: Request, body: ResponsesRequest) -> ResponsesRequest:
    system = [("system", body.instructions)] if body.instructions else []
    turns = (
        [("user", body.input)]
        if isinstance(body.input, str)
        else [(i.role or "user", i.content) for i in body.input]
    )
    await serve_or_forward(request, body.model, body.stream, chat_leading(request, [*system, *turns]))
    return body


@router.post("/responses", response_model=None)
async def create_response(
    body: Annotated[ResponsesRequest, Depends(responses_here)], request: Request
) -> Response:
    node = node_of(request)
    engine = engine_for(node, body.model)
    check(body)

    def build() -> list[GenerationRequest]:  # off the event loop when the body is large (``submit``)
        req = engine_request(
            engine.tokenize_chat(messages(body)),
            body,
            n_vocab=engine.vocab_size,
            n_ctx=engine.context_size,
            default_max_tokens=node.settings.max_tokens_default,
            stop=engine.chat_stop,
        )
        return [req]

    (gen,) = await submit(request, engine, build)
    head = ResponseHead(
        f"resp_{uuid.uuid4().hex}", f"msg_{uuid.uuid4().hex}", int(time.time()), node.model_name, body
    )
    if body.stream:
        return streaming.EventStreamResponse(_events(node, gen, ResponseEvents(head)))
    results = await streaming.collect(request, [gen], node.metrics)
    if results is None:
        return Response(status_code=streaming.CLIENT_CLOSED_REQUEST)
    result = results[0]
    assert result.finished is not None
    return JSONResponse(head.final(result.text, result.finished))


async def _events(node: Node, gen: Generation, out: ResponseEvents) -> AsyncIterator[bytes]:
    opened = False  # the opening events go with the first token: nothing reaches a forwarder before it
    async for event in streaming.events(gen, node.metrics):
        if not opened:
            opened = True
            for opening in out.opening():
                yield opening
        if isinstance(event, TokenDelta):
            if event.text:
                yield out.delta(event.text)
        elif isinstance(event, Finished):
            if event.text_tail:
                yield out.delta(event.text_tail)
            for closing in out.closing(event):
                yield closing
        else:
            err = from_exception(event.error)
            yield out.failed(err.status, err.message)
