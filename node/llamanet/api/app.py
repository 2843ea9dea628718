"""``create_app``: the FastAPI application of one node."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llamanet.api import (
    continued,
    dependencies,
    embeddings_routes,
    native_routes,
    ollama_routes,
    openai_routes,
    responses_routes,
    swarm_routes,
)
from llamanet.api.auth import ApiKeyMiddleware
from llamanet.api.body_limit import BodyLimitMiddleware
from llamanet.api.errors import install_error_handlers
from llamanet.api.offload import Offload
from llamanet.api.peer_auth import PeerProofMiddleware, refusal
from llamanet.node import Node
from llamanet.web.routes import install_web

_COUNTED = {
    "/generate",
    "/generate/stream",
    "/v1/completions",
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/models",
    "/api/chat",
    "/api/generate",
    "/api/embed",
    "/status",
    "/info",
    "/health",
}


class RequestCounterMiddleware:
    def __init__(self, app: ASGIApp, node: Node) -> None:
        self.app = app
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = scope["path"] if scope["path"] in _COUNTED else "other"

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.node.metrics.requests.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)


def create_app(node: Node) -> FastAPI:
    app = FastAPI(
        title="LlamaNet node",
        version=node.version,
        description="Native and OpenAI-compatible API of a LlamaNet inference node",
    )
    app.state.node = node
    app.state.offload = Offload()
    app.state.resume_local = continued.local  # a broken forwarded stream's rest, served here
    install_error_handlers(app)
    dependencies.install(app)
    app.include_router(native_routes.router)
    app.include_router(openai_routes.router)
    app.include_router(responses_routes.router)
    app.include_router(ollama_routes.router)
    app.include_router(embeddings_routes.openai_router)
    app.include_router(embeddings_routes.ollama_router)
    app.include_router(swarm_routes.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        node.metrics.observe_swarm(await node.models())
        if node.identity is not None:
            node.metrics.observe_identity(node.node_id, node.identity.public_key_hex)
        return Response(node.metrics.render(), media_type="text/plain; version=0.0.4")

    install_web(app, store_history=node.settings.ui_store_history)

    # outermost last: the API key (a request with a forward proof passes to peer_auth instead), then the
    # body read once (capped, with a deadline: strangers get their 401 unread), then the peers' proofs
    # (over the body already read), then the request counter
    settings = node.settings
    app.add_middleware(RequestCounterMiddleware, node=node)
    key = settings.resolved_api_key()
    secret = settings.resolved_swarm_secret()
    authority = bool(settings.resolved_authorities())
    app.add_middleware(
        PeerProofMiddleware,
        node_id=node.node_id,
        secret=secret,
        refused=refusal(api_key=bool(key), secret=secret is not None, authority=authority),
        window_s=settings.forward_window,
        max_body=settings.max_body_bytes,
        admit=node.admit_peer if authority else None,  # with an authority: certified senders only
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout,
        max_held=settings.max_held_body_bytes,
    )
    if key:
        app.add_middleware(ApiKeyMiddleware, key=key)
    return app
