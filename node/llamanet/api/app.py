"""``create_app``: the FastAPI application of one node."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llamanet.api import dependencies, native_routes, openai_routes, swarm_routes
from llamanet.api.auth import ApiKeyMiddleware
from llamanet.api.errors import ApiError, install_error_handlers
from llamanet.api.peer_auth import PeerProofMiddleware, refusal
from llamanet.node import Node
from llamanet.web.routes import install_web

MAX_BODY_BYTES = 8 * 1024 * 1024
_COUNTED = {
    "/generate",
    "/generate/stream",
    "/v1/completions",
    "/v1/chat/completions",
    "/v1/models",
    "/status",
    "/info",
    "/health",
}


class BodyLimitMiddleware:
    """Refuse request bodies over ``MAX_BODY_BYTES`` with a 413 before they are read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
                error = ApiError(
                    413, f"request body larger than {MAX_BODY_BYTES} bytes", code="request_too_large"
                )
                await error.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
    install_error_handlers(app)
    dependencies.install(app)
    app.include_router(native_routes.router)
    app.include_router(openai_routes.router)
    app.include_router(swarm_routes.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        node.metrics.observe_swarm(await node.models())
        return Response(node.metrics.render(), media_type="text/plain; version=0.0.4")

    install_web(app)

    app.add_middleware(RequestCounterMiddleware, node=node)
    key = node.settings.resolved_api_key()
    if key:
        app.add_middleware(ApiKeyMiddleware, key=key)
    secret = node.settings.resolved_swarm_secret()
    app.add_middleware(
        PeerProofMiddleware,
        node_id=node.node_id,
        secret=secret,
        refused=refusal(api_key=bool(key), secret=secret is not None),
        window_s=node.settings.forward_window,
        max_body=MAX_BODY_BYTES,
    )
    app.add_middleware(BodyLimitMiddleware)
    return app
