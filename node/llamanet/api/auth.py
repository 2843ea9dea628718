"""Optional bearer-key protection: every route but ``/health``, ``/metrics``, the address proof
(``/swarm/proof``) and the web UI's page (``/``, ``/static/*`` and its settings ``/ui/config``: it asks for
the key itself) needs the key.

The key is this node's users' only: it is never forwarded. Forwarded work from swarm members carries a
forward proof instead: this middleware (the outermost) passes such a request on to ``peer_auth``, which
checks the proof over the body and refuses a bad one with a 401 before any route runs. A 401 closes the
connection, so an unauthenticated client's body is never read.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from llamanet.api.errors import ApiError
from llamanet.web.routes import CONFIG_PATH
from llamanet_common.proofs import FORWARD_HEADER, PROOF_PATH

OPEN_PATHS = frozenset({"/health", "/metrics", "/", CONFIG_PATH, PROOF_PATH})
OPEN_PREFIXES = ("/static/",)
_FORWARD = FORWARD_HEADER.encode()


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.expected = f"Bearer {key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in OPEN_PATHS
            or scope["path"].startswith(OPEN_PREFIXES)
            or _FORWARD in dict(scope["headers"])  # a peer's: its proof is checked by ``peer_auth``
        ):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self.expected):
            message = "missing API key" if not given else "invalid API key"
            error = ApiError(
                401,
                f"{message}: send 'Authorization: Bearer <key>'",
                "authentication_error",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer", "Connection": "close"},
            )
            await error.response()(scope, receive, send)
            return
        await self.app(scope, receive, send)
