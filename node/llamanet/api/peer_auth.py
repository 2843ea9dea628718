"""Forwarded work from other nodes: the ASGI edge of ``llamanet_common.proofs``' forward proof.

A request carrying ``x-llamanet-forward`` is from a peer, never a user: its proof is checked here (the
body is read for its hash, within the body limit, and handed on unchanged) and a bad one is refused
with a 401, whatever the route and whether or not this node has an API key: signature, target (this
node), time window, hop count, the allowed-sites header, the swarm secret's MAC when this node holds a
secret, and a nonce not seen before. A node that requires an API key accepts forwarded work only from
members: with a swarm secret, the MAC proves membership; with neither a secret nor an authority it
refuses forwarded work (403) and ``refusal`` says so at start-up. ``auth`` (outside this middleware)
passes every request with a forward proof on to here instead of asking for a user key; a valid proof
marks the request (``PEER_SCOPE_KEY``).

``admit`` is the swarm authority's check (``routing.members.CertifiedPeers``): given every verified
proof it returns None to admit the sender or why it is refused (no valid membership certificate): a 401
like any other bad proof. With an authority a keyed node takes certified members' work, secret or not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from llamanet.api.body_limit import replay_body
from llamanet.api.errors import ApiError
from llamanet_common.proofs import (
    FORWARD_HEADER,
    SITES_HEADER,
    ForwardProof,
    ProofError,
    ReplayCache,
    verify_forward,
)

log = logging.getLogger(__name__)

PEER_SCOPE_KEY = "llamanet.peer"  # scope key set to the verified ForwardProof
HOPS_HEADER = b"x-llamanet-hops"
Admit = Callable[[ForwardProof], Awaitable[str | None]]


def refusal(api_key: bool, secret: bool, authority: bool = False) -> str | None:
    """Why this node takes no forwarded work, or None when it takes members' work (pure)."""
    if api_key and not secret and not authority:
        return (
            "this node requires an API key and has no swarm secret (or authority): it takes no forwarded "
            "work from other nodes; set the same --swarm-secret on every node to share load"
        )
    return None


def trust_summary(api_key: bool, secret: bool, authority: bool = False) -> str:
    """The start-up line that says whom this node trusts (docs/security.md)."""
    if authority:
        return "swarm authority set: only certified members' records and forwarded work are accepted"
    if secret:
        return "no swarm authority: any peer holding the swarm secret is trusted as a member"
    if api_key:
        return "no swarm secret: any peer can join the DHT; forwarded work is refused (API key set)"
    return "no swarm secret and no API key: any peer can join, and any client or peer can use this node"


class PeerProofMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        node_id: str,
        secret: bytes | None,
        refused: str | None,
        window_s: float,
        max_body: int,
        admit: Admit | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.node_id = node_id
        self.secret = secret
        self.refused = refused
        self.window_s = window_s
        self.max_body = max_body
        self.admit = admit
        self.clock = clock
        self.replays = ReplayCache(window_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"]) if scope["type"] == "http" else {}
        header = headers.get(FORWARD_HEADER.encode())
        if header is None:
            await self.app(scope, receive, send)
            return
        if self.refused is not None:
            await _deny(403, self.refused, "forwarding_refused", scope, receive, send)
            return
        body = await _read_body(receive, self.max_body)
        if body is None:
            error = ApiError(413, f"request body larger than {self.max_body} bytes", code="request_too_large")
            await error.response()(scope, receive, send)
            return
        try:
            sites = headers.get(SITES_HEADER.encode(), b"").decode("latin-1")
            proof = await self._check(
                scope, header.decode("latin-1"), body, headers.get(HOPS_HEADER, b"0"), sites
            )
        except ProofError as exc:
            log.warning("refused forwarded %s %s: %s", scope["method"], scope["path"], exc)
            await _deny(
                401, f"forwarded request refused: {exc}", "invalid_forward_proof", scope, receive, send
            )
            return
        scope = {**scope, PEER_SCOPE_KEY: proof}
        await self.app(scope, replay_body(body, receive), send)

    async def _check(self, scope: Scope, header: str, body: bytes, hops: bytes, sites: str) -> ForwardProof:
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        now = self.clock()
        proof = verify_forward(
            header,
            method=scope["method"],
            path=path,
            body=body,
            self_id=self.node_id,
            now_s=now,
            secret=self.secret,
            window_s=self.window_s,
            sites=sites,  # the allowed-sites header is signed: a hop on the way cannot widen it
        )
        if hops.decode("latin-1") != str(proof.hops):
            raise ProofError("hop count differs from the signed one")
        why = await self.admit(proof) if self.admit is not None else None
        if why is not None:
            raise ProofError(why)
        if not self.replays.check_and_add(proof.sender_id, proof.nonce, now):
            raise ProofError("replayed forward proof (nonce seen before)")
        return proof


async def _deny(status: int, message: str, code: str, scope: Scope, receive: Receive, send: Send) -> None:
    await ApiError(status, message, "authentication_error", code=code).response()(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it passes ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)
