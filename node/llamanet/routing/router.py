"""The routing edge used by the API: serve here, or forward to the best node for the model."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from llamanet.routing import policy
from llamanet.routing.bans import BanList
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.errors import NoPeerAvailableError, RoutingError
from llamanet.routing.forwarder import HOPS_HEADER, Forwarder
from llamanet.routing.peers import Peer

PROBE_TIMEOUT_S = 1.0


class UnknownModelError(RoutingError):
    def __init__(self, model: str, available: list[str]) -> None:
        super().__init__(f"model {model!r} not found; available: {', '.join(available) or 'none'}")
        self.model = model


class NoNodeForModelError(RoutingError):
    """Nodes serve the model, but none of them answered."""


class HopLimitError(RoutingError):
    """The request was forwarded too many times."""


class Router:
    def __init__(
        self,
        *,
        directory: SwarmDirectory,
        client: httpx.AsyncClient,
        local_model: str,
        local_slots_free: Callable[[], int | None],
        max_hops: int = 2,
        rng: random.Random | None = None,
    ) -> None:
        self.directory = directory
        self.client = client
        self.local_model = local_model
        self.local_slots_free = local_slots_free  # None while the local model is loading
        self.max_hops = max_hops
        self.bans = BanList(base_s=2.0)
        self.forwarder = Forwarder(client, self.bans)
        self.inflight: Counter[str] = Counter()
        self.rng = rng or random.Random()

    async def models(self) -> dict[str, list[str]]:
        """Every model in the swarm with the ids of the nodes serving it (this node included)."""
        out: dict[str, list[str]] = {self.local_model: [self.directory.self_id]}
        for peer in await self.directory.peers():
            for m in peer.models:
                ids = out.setdefault(m, [])
                if peer.node_id not in ids:
                    ids.append(peer.node_id)
        return out

    async def route(self, request: Request, requested: str | None, stream: bool) -> Response | None:
        """None: serve locally. Otherwise the forwarded response."""
        model = policy.target_model(requested, self.local_model)
        hops = _hops(request)
        free = self.local_slots_free()
        if model == self.local_model and free is not None and free > 0:
            return None  # fast path: no lookup when this node can start it right away
        if hops >= self.max_hops:
            if model == self.local_model:
                return None
            raise HopLimitError(f"request for {model!r} was forwarded {hops} times; not forwarding again")
        serving = await self._serving(model)
        now = time.monotonic()
        others = [p for p in serving if not self.bans.is_banned(p.node_id, now)]
        if policy.serve_locally(
            model=model,
            local_model=self.local_model,
            local_ready=free is not None,
            local_slots_free=free or 0,
            hops=hops,
            max_hops=self.max_hops,
            others=others,
        ):
            return None
        if not others:
            if model == self.local_model:
                return None
            if serving:
                raise NoNodeForModelError(f"every node serving {model!r} failed moments ago; retry shortly")
            raise UnknownModelError(model, sorted(await self.models()))
        # fresh state decides between several candidates; with one there is nothing to choose
        probed = await self._probe(policy.sample_pair(others, self.rng), request) if len(others) > 1 else []
        candidates = policy.order_candidates(others, probed, self.inflight)
        reserved = candidates[0].node_id  # counted now, before any await, so concurrent requests spread
        self.inflight[reserved] += 1
        headers = {
            "content-type": request.headers.get("content-type", "application/json"),
            HOPS_HEADER: str(hops + 1),
        }
        if "authorization" in request.headers:
            headers["authorization"] = request.headers["authorization"]
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            response = await _unless_disconnected(
                request, self.forwarder.forward(path, await request.body(), headers, candidates, stream)
            )
        except BaseException as exc:
            self._release(reserved)
            if not isinstance(exc, NoPeerAvailableError):
                raise
            if model == self.local_model:
                return None
            raise NoNodeForModelError(f"no node serving {model!r} answered: {exc}") from exc
        if isinstance(response, StreamingResponse):
            response.body_iterator = _then(response.body_iterator, lambda: self._release(reserved))
        else:
            self._release(reserved)
        return response

    def _release(self, node_id: str) -> None:
        self.inflight[node_id] -= 1
        if self.inflight[node_id] <= 0:
            del self.inflight[node_id]

    async def _serving(self, model: str) -> list[Peer]:
        """Other nodes serving ``model``: its own DHT key, else the all-nodes set (a model key lookup
        can come back short for a moment while a peer that stored it leaves)."""
        found = [p for p in await self.directory.peers(model) if model in p.models]
        if not found:
            found = [p for p in await self.directory.peers() if model in p.models]
        return found

    async def _probe(self, peers: Sequence[Peer], request: Request) -> list[Peer]:
        """Fresh ``/status`` of a few peers; the ones that do not answer are banned and dropped."""
        headers = (
            {"authorization": request.headers["authorization"]} if "authorization" in request.headers else {}
        )

        async def one(peer: Peer) -> Peer | None:
            try:
                r = await self.client.get(f"{peer.url}/status", headers=headers, timeout=PROBE_TIMEOUT_S)
                r.raise_for_status()
                return peer.with_status(r.json())
            except (httpx.HTTPError, ValueError):
                self.bans.fail(peer.node_id, time.monotonic())
                return None

        return [p for p in await asyncio.gather(*(one(p) for p in peers)) if p is not None]


async def _then(chunks: AsyncIterable[Any], done: Callable[[], None]) -> AsyncIterator[Any]:
    """Pass ``chunks`` through, then call ``done`` however the stream ends."""
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        done()


def _hops(request: Request) -> int:
    try:
        return max(0, int(request.headers.get(HOPS_HEADER, "0")))
    except ValueError:
        return 0


async def _unless_disconnected(request: Request, work: Coroutine[Any, Any, Response]) -> Response:
    """Await ``work``; if the client goes away first, cancel it (closing the upstream connection)."""
    task: asyncio.Task[Response] = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return Response(status_code=499)
    finally:
        if not task.done():
            task.cancel()
