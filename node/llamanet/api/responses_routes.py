"""OpenAI's Responses API: ``POST /v1/responses``, streamed (``responses.stream()``) or not, function
tools included (the chat route's plan, grammar and parser; ``responses_translate``).

A request for a model another node serves is forwarded (``dependencies.serve_or_forward_chat``), as the chat
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
from llamanet.api.dependencies import engine_for, node_of, serve_or_forward_chat
from llamanet.api.errors import from_exception
from llamanet.api.responses_events import ResponseEvents, whole
from llamanet.api.responses_schemas import ResponsesRequest
from llamanet.api.responses_shapes import ResponseHead
from llamanet.api.responses_translate import check, engine_request, messages, tool_plan
from llamanet.api.submit import submit
from llamanet.engine.engine import Generation
from llamanet.engine.events import Finished, TokenDelta
from llamanet.engine.params import GenerationRequest
from llamanet.engine.tool_parse import Piece, Text, ToolCallParser
from llamanet.node import Node

router = APIRouter(prefix="/v1")


async def responses_here(request: Request, body: ResponsesRequest) -> ResponsesRequest:
    system = [("system", body.instructions)] if body.instructions else []
    turns = (
        [("user", body.input)]
        if isinstance(body.input, str)
        else [(i.role or i.type, i.content if i.content is not None else i.output) for i in body.input]
    )
    await serve_or_forward_chat(request, body.model, body.stream, [*system, *turns])
    return body


@router.post("/responses", response_model=None)
async def create_response(
    body: Annotated[ResponsesRequest, Depends(responses_here)], request: Request
) -> Response:
    node = node_of(request)
    engine = engine_for(node, body.model)
    check(body)
    plan = tool_plan(body)

    def build() -> list[GenerationRequest]:  # off the event loop when the body is large (``submit``)
        req = engine_request(
            engine.tokenize_chat(messages(body), plan.offered if plan is not None else None),
            body,
            n_vocab=engine.vocab_size,
            n_ctx=engine.context_size,
            default_max_tokens=node.settings.max_tokens_default,
            stop=engine.chat_stop,
            tools=plan,
        )
        return [req]

    (gen,) = await submit(request, engine, build)
    head = ResponseHead(
        f"resp_{uuid.uuid4().hex}", f"msg_{uuid.uuid4().hex}", int(time.time()), node.model_name, body
    )
    parser = plan.parser() if plan is not None else None
    if body.stream:
        return streaming.EventStreamResponse(_events(node, gen, ResponseEvents(head), parser))
    results = await streaming.collect(request, [gen], node.metrics)
    if results is None:
        return Response(status_code=streaming.CLIENT_CLOSED_REQUEST)
    result = results[0]
    assert result.finished is not None
    pieces = _pieces(parser, result.text, end=True)
    return JSONResponse(whole(head, pieces, result.finished, parser.calls if parser else 0))


def _pieces(parser: ToolCallParser | None, text: str, end: bool = False) -> list[Piece]:
    """Text as content and calls (``parser`` None: no tools, all content)."""
    if parser is None:
        return [Text(text)]
    return parser.feed(text) + (parser.finish() if end else [])


async def _events(
    node: Node, gen: Generation, out: ResponseEvents, parser: ToolCallParser | None
) -> AsyncIterator[bytes]:
    opened = False  # the opening events go with the first token: nothing reaches a forwarder before it
    async for event in streaming.events(gen, node.metrics):
        if not opened:
            opened = True
            for opening in out.opening():
                yield opening
        if isinstance(event, TokenDelta):
            for chunk in out.pieces(_pieces(parser, event.text)):
                yield chunk
        elif isinstance(event, Finished):
            for chunk in out.pieces(_pieces(parser, event.text_tail, end=True)):
                yield chunk
            for closing in out.closing(event, parser.calls if parser else 0):
                yield closing
        else:
            err = from_exception(event.error)
            yield out.failed(err.status, err.message)
