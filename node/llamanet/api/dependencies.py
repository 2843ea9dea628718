"""What the routes ask for: the node, its engine, and serve-or-forward as one FastAPI dependency.

A generation route declares its body through ``generate_here``, ``stream_here``, ``chat_here`` or
``completion_here``: the dependency validates the body, asks the router (``RequestRouter.decide``) and
either returns the body (serve it here) or forwards the request and ends it with the upstream's answer
(raising ``Forwarded``, which ``install`` turns into that response). Routing errors become OpenAI-shaped
errors here; disconnects while waiting for the upstream end the request with 499.

A forwarded stream of the chat, completion or native routes is resumed on another node (or here) when
its node dies mid-stream (``routing.resume``; this node's part: ``continued.local``, which ``create_app``
puts in ``app.state.resume_local``); other streams end with an error event when they break. A body's
``Continuation`` is accepted only in a peer's verified forwarded request (``check_continuation``).

The user's ``Authorization`` is checked at this node (``auth``) and never forwarded: the router signs
the forwarded request with this node's own key instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from llamanet.api import streaming
from llamanet.api.errors import ApiError
from llamanet.api.peer_auth import PEER_SCOPE_KEY
from llamanet.api.schemas import (
    CONTINUATION_FIELD,
    ChatCompletionRequest,
    CompletionRequest,
    Continued,
    GenerateRequest,
)
from llamanet.engine.engine import Engine
from llamanet.node import Node
from llamanet.routing import prefix
from llamanet.routing.decision import Forward, parse_hops, target_model
from llamanet.routing.errors import (
    EmbeddingsUnavailableError,
    HopLimitError,
    NoNodeForModelError,
    UnknownModelError,
)
from llamanet.routing.forwarder import HOPS_HEADER, Outgoing, Upstream, ending_with_failure
from llamanet.routing.resume import Resumable, resuming
from llamanet.routing.sites import ALLOWED_SITES_HEADER, BadSitesError, SiteNotAllowedError
from llamanet.routing.tape import Kind


def node_of(request: Request) -> Node:
    """The ``Node`` a route's app was created with."""
    node: Node = request.app.state.node
    return node


def ready_engine(node: Node) -> Engine:
    if node.engine is None:
        raise ApiError(
            503,
            node.load_error or "the model is still loading",
            "service_unavailable",
            code="model_loading",
            headers={"Retry-After": "2"},
        )
    return node.engine


def engine_for(node: Node, requested: str | None) -> Engine:
    """The engine serving ``requested``; 404 naming the available models when it is unknown."""
    if target_model(requested, node.model_name) != node.model_name:
        raise ApiError(
            404,
            f"model {requested!r} not found; available: {node.model_name}",
            param="model",
            code="model_not_found",
        )
    return ready_engine(node)


class Forwarded(Exception):
    """The request was forwarded; ``response`` is the answer to send."""

    def __init__(self, response: Response) -> None:
        super().__init__("forwarded")
        self.response = response


def upstream_response(upstream: Upstream) -> Response:
    if upstream.chunks is None:
        return Response(upstream.body, status_code=upstream.status, headers=dict(upstream.headers))
    return streaming.ClosingStreamingResponse(upstream.chunks, upstream.status, upstream.headers)


def _outgoing(request: Request, body: bytes, hops: int, stream: bool) -> Outgoing:
    """What goes on to the next node: path, body, content type and hop count; no credential."""
    headers = {"content-type": request.headers.get("content-type", "application/json")}
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Outgoing(path, body, headers, stream, hops=hops + 1)


async def _boxed(work: Awaitable[Upstream | None]) -> tuple[Upstream | None]:
    """``work``'s result in a box, so that "no answer" stays apart from "the client left"."""
    return (await work,)


def check_continuation(request: Request, body: Continued) -> None:
    """400 unless a body's ``Continuation`` comes from a verified peer: no client adds assistant text
    (or a completion's generated text) through it beyond what the API already offers."""
    if body.llamanet_continuation is not None and PEER_SCOPE_KEY not in request.scope:
        raise ApiError(
            400,
            f"{CONTINUATION_FIELD} is set only by nodes, in signed forwarded requests",
            param=CONTINUATION_FIELD,
            code="internal_field",
        )


async def serve_or_forward(
    request: Request,
    model: str | None,
    stream: bool,
    leading: str | None = None,
    *,
    boundaries: tuple[str, ...] = (),
    embeddings: bool = False,
    kind: Kind | None = None,
) -> None:
    """Return to serve the request here; raise ``Forwarded`` once another node answered it.

    ``leading``: the request's leading text, whose prefix key places it (``routing.prefix``);
    ``boundaries``: a chat's keys at its message boundaries, for the nodes that hold its earlier turns
    (a chat served here is recorded among this node's holdings).
    ``embeddings``: an embedding request, for nodes started with ``--embeddings`` only.
    ``kind``: a stream of this kind is resumed when its node dies (``routing.resume``)."""
    node = node_of(request)
    if node.router is None:
        return
    raw = await request.body()  # read before the router awaits anything (and before disconnects)
    hops = parse_hops(request.headers.get(HOPS_HEADER))
    key = node.router.prefix.key(leading)
    try:
        sites = node.router.request_sites(request.headers.get(ALLOWED_SITES_HEADER))
        decision = await node.router.decide(
            model, hops, sites=sites, prefix_key=key, boundaries=boundaries, embeddings=embeddings
        )
        if not isinstance(decision, Forward):
            node.router.served(boundaries)
            return
        outgoing = _outgoing(request, raw, hops, stream)
        forwarding = node.router.forward(decision, outgoing)
        outcome = await streaming.unless_disconnected(request, _boxed(forwarding))
        if outcome is None:
            raise Forwarded(Response(status_code=streaming.CLIENT_CLOSED_REQUEST))
        upstream = outcome[0]
        if upstream is None:
            node.router.served(boundaries)
            return  # every candidate failed and this node serves the model: serve it here
    except BadSitesError as exc:
        raise ApiError(400, str(exc), param=ALLOWED_SITES_HEADER, code="invalid_allowed_sites") from exc
    except SiteNotAllowedError as exc:
        raise ApiError(403, str(exc), "permission_error", param="model", code="site_not_allowed") from exc
    except UnknownModelError as exc:
        raise ApiError(404, str(exc), param="model", code="model_not_found") from exc
    except EmbeddingsUnavailableError as exc:
        raise ApiError(400, str(exc), param="model", code="embeddings_disabled") from exc
    except HopLimitError as exc:
        raise ApiError(508, str(exc), "server_error", code="hop_limit") from exc
    except NoNodeForModelError as exc:
        raise ApiError(
            503, str(exc), "service_unavailable", code="no_node_available", headers={"Retry-After": "2"}
        ) from exc
    if upstream.chunks is not None and kind is not None:
        local = partial(request.app.state.resume_local, request, kind)
        job = Resumable(kind, outgoing, model, hops, sites, local)
        upstream = replace(upstream, chunks=resuming(node.router, upstream, job))
    elif upstream.chunks is not None:
        content_type = upstream.headers.get("content-type", "")
        upstream = replace(upstream, chunks=ending_with_failure(upstream.chunks, content_type))
    raise Forwarded(upstream_response(upstream))


def chat_leading(request: Request, turns: Iterable[tuple[str, Any]]) -> str:
    """A chat's leading text (``routing.prefix.chat_text``) from ``(role, content)`` turns, as far as
    the prefix key reads it."""
    router = node_of(request).router
    return prefix.chat_text(turns, router.prefix.min_chars if router is not None else 0)


async def serve_or_forward_chat(
    request: Request,
    model: str | None,
    stream: bool,
    turns: Sequence[tuple[str, Any]],
    kind: Kind | None = None,
) -> None:
    """``serve_or_forward`` for a chat of ``(role, content)`` turns: placed by its leading text and by
    where its earlier turns were served (``prefix.boundary_keys``)."""
    leading = chat_leading(request, turns)
    boundaries = prefix.boundary_keys(turns) if node_of(request).router is not None else ()
    await serve_or_forward(request, model, stream, leading, boundaries=boundaries, kind=kind)


async def generate_here(request: Request, body: GenerateRequest) -> GenerateRequest:
    check_continuation(request, body)
    await serve_or_forward(request, body.model, body.stream, body.prompt, kind="native")
    return body


async def stream_here(request: Request, body: GenerateRequest) -> GenerateRequest:
    check_continuation(request, body)
    await serve_or_forward(request, body.model, stream=True, leading=body.prompt, kind="native")
    return body


async def chat_here(request: Request, body: ChatCompletionRequest) -> ChatCompletionRequest:
    check_continuation(request, body)
    turns = [(m.role, m.content) for m in body.messages]
    await serve_or_forward_chat(request, body.model, body.stream, turns, kind="chat")
    return body


async def completion_here(request: Request, body: CompletionRequest) -> CompletionRequest:
    check_continuation(request, body)
    leading = body.prompt if isinstance(body.prompt, str) else body.prompt[0]
    await serve_or_forward(request, body.model, body.stream, leading, kind="completion")
    return body


def install(app: FastAPI) -> None:
    async def forwarded(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forwarded)
        return exc.response

    app.add_exception_handler(Forwarded, forwarded)
