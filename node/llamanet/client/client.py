"""``Client``: generate and chat on a LlamaNet swarm, with discovery, load-aware selection and failover.

A request goes to the best candidate (``routing.selection``'s pipeline, as on the node); if that node
fails before the first token in a way another node may not (``routing.retry``: connection error,
timeout, 429, 5xx, a stale record's ``model_not_found``) it is banned for a while and the next
candidate is tried. ``NoNodeAvailableError`` is raised when none is left.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from types import TracebackType
from typing import Any, TypeVar

from llamanet.client.discovery import DhtDiscovery, Discovery, StaticDiscovery
from llamanet.client.errors import (
    ClientError,
    NodeUnavailableError,
    NoNodeAvailableError,
    StreamInterruptedError,
)
from llamanet.client.planner import Planner
from llamanet.client.responses import (
    ChatResponse,
    GenerateResponse,
    StreamChunk,
    chunk_from_chat,
    chunk_from_native,
)
from llamanet.client.transport import Transport
from llamanet.routing.bans import BanList
from llamanet.routing.prefix import PrefixPolicy
from llamanet.routing.sites import ALLOWED_SITES_HEADER, BadSitesError, SitePolicy, parse_sites
from llamanet.routing.view import NodeView
from llamanet.swarm.config import SwarmConfig

T = TypeVar("T")
Message = dict[str, Any]
ChunkParser = Callable[[dict[str, Any], str, str], StreamChunk | None]


def client_sites(allowed: str | Sequence[str] | None) -> SitePolicy:
    """``allowed_sites`` as a policy: a comma list or a sequence of site names; None: every site."""
    text = allowed if allowed is None or isinstance(allowed, str) else ",".join(allowed)
    try:
        return SitePolicy(parse_sites(text, "allowed_sites"), "Client(allowed_sites=...)")
    except BadSitesError as exc:
        raise ClientError(str(exc)) from exc


def request_body(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left unset (None), so the node's defaults apply."""
    return {k: v for k, v in fields.items() if v is not None}


class Client:
    """Async client of a LlamaNet swarm.

    ``Client(bootstrap_nodes="host:port,...")`` finds nodes through the DHT (read-only);
    ``Client(nodes=["http://host:port", ...])`` uses fixed node URLs instead.
    ``allowed_sites`` ("site-a,site-b" or a list) keeps requests inside those sites: discovered nodes
    elsewhere are never used, and every request carries the set (``x-llamanet-allowed-sites``) so the
    node that takes it routes only there too (fixed-URL nodes, whose site is unknown, enforce it).
    ``prefix_routing`` (default on): requests sharing a long prefix go to one node (``routing.prefix``).
    """

    def __init__(
        self,
        bootstrap_nodes: str | Sequence[str] | None = None,
        *,
        nodes: Sequence[str] | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        model: str | None = None,
        cache_ttl: float = 5.0,
        probe: bool = True,
        probe_timeout: float = 3.0,
        ban_base_s: float = 1.0,
        ban_cap_s: float = 60.0,
        swarm_config: SwarmConfig | None = None,
        rng: random.Random | None = None,
        allowed_sites: str | Sequence[str] | None = None,
        prefix_routing: bool = True,
    ) -> None:
        if (bootstrap_nodes is None) == (nodes is None):
            raise ClientError("give either bootstrap_nodes (DHT discovery) or nodes (fixed URLs)")
        self.model = model
        self.sites = client_sites(allowed_sites)
        header = self.sites.header_value()
        self._transport = Transport(
            api_key, timeout=timeout, headers={ALLOWED_SITES_HEADER: header} if header is not None else None
        )
        discovery: Discovery
        if nodes is not None:
            discovery = StaticDiscovery(nodes, self._transport, cache_ttl, probe_timeout=probe_timeout)
        else:
            assert bootstrap_nodes is not None
            discovery = DhtDiscovery(bootstrap_nodes, swarm_config, cache_ttl)
        self._planner = Planner(
            discovery,
            self._transport,
            BanList(ban_base_s, ban_cap_s),
            probe=probe,
            probe_timeout=probe_timeout,
            rng=rng,
            sites=self.sites,
            prefix=PrefixPolicy(enabled=prefix_routing),
        )

    @property
    def dht_discovery(self) -> Discovery:
        """Where nodes come from (named as in the seed; a fixed URL list when ``nodes=`` was given)."""
        return self._planner.discovery

    @property
    def bans(self) -> BanList:
        return self._planner.bans

    async def get_nodes(self, model: str | None = None) -> list[NodeView]:
        return await self._planner.discovery.get_nodes(model)

    # --- native API -------------------------------------------------------------------------------
    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
        raw: bool = False,
        **options: Any,
    ) -> GenerateResponse:
        """Generate a completion of ``prompt`` on the best available node (``POST /generate``)."""
        model = model or self.model
        body = request_body(
            prompt=prompt, model=model, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
            top_k=top_k, seed=seed, stop=stop, raw=raw or None, **options,
        )  # fmt: skip

        async def attempt(node: NodeView) -> GenerateResponse:
            await self._planner.admit(node)
            data = await self._transport.post_json(node.url, "/generate", body, authorized=True)
            return GenerateResponse.from_body(data, node.url)

        return await self._call(model, attempt, prompt)

    async def generate_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
        raw: bool = False,
        **options: Any,
    ) -> AsyncIterator[StreamChunk]:
        """Stream a completion (``POST /generate/stream``); the last chunk has ``finished=True``."""
        model = model or self.model
        body = request_body(
            prompt=prompt, model=model, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
            top_k=top_k, seed=seed, stop=stop, raw=raw or None, **options,
        )  # fmt: skip
        async with aclosing(
            self._stream(model, "/generate/stream", body, chunk_from_native, prompt)
        ) as chunks:
            async for chunk in chunks:
                yield chunk

    # --- OpenAI chat ------------------------------------------------------------------------------
    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
        **options: Any,
    ) -> ChatResponse:
        """A chat completion (``POST /v1/chat/completions``) on the best available node."""
        model = model or self.model
        body = request_body(
            messages=list(messages), model=model, max_tokens=max_tokens, temperature=temperature,
            top_p=top_p, seed=seed, stop=stop, **options,
        )  # fmt: skip

        async def attempt(node: NodeView) -> ChatResponse:
            await self._planner.admit(node)
            data = await self._transport.post_json(node.url, "/v1/chat/completions", body, authorized=True)
            return ChatResponse.from_body(data, node.url, node.node_id)

        return await self._call(model, attempt, self._planner.chat_leading(messages))

    async def chat_stream(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
        **options: Any,
    ) -> AsyncIterator[StreamChunk]:
        """Stream a chat completion; the chunk carrying ``finish_reason`` has ``finished=True``."""
        model = model or self.model
        body = request_body(
            messages=list(messages), model=model, max_tokens=max_tokens, temperature=temperature,
            top_p=top_p, seed=seed, stop=stop, **options, stream=True,
        )  # fmt: skip
        async with aclosing(
            self._stream(
                model, "/v1/chat/completions", body, chunk_from_chat, self._planner.chat_leading(messages)
            )
        ) as chunks:
            async for chunk in chunks:
                yield chunk

    # --- failover ---------------------------------------------------------------------------------
    async def _call(
        self, model: str | None, attempt: Callable[[NodeView], Awaitable[T]], lead: str | None = None
    ) -> T:
        plan, failures = await self._planner.plan(model, lead)  # lead: the leading text (prefix rule)
        last: NodeUnavailableError | None = None
        for node in plan:
            try:
                result = await attempt(node)
            except NodeUnavailableError as exc:
                self._planner.failed(node)
                failures.append((node.url, exc.reason))
                last = exc
                continue
            self._planner.succeeded(node)
            return result
        raise self._none_left(model, failures) from last

    async def _stream(
        self, model: str | None, path: str, body: dict[str, Any], parse: ChunkParser, lead: str | None = None
    ) -> AsyncGenerator[StreamChunk, None]:
        plan, failures = await self._planner.plan(model, lead)
        last: NodeUnavailableError | None = None
        for node in plan:
            started = finished = False
            try:
                await self._planner.admit(node)
                async with aclosing(self._transport.stream(node.url, path, body, authorized=True)) as events:
                    async for event in events:
                        chunk = parse(event, node.url, node.node_id)
                        if chunk is None:
                            continue
                        started, finished = True, chunk.finished
                        yield chunk
                        if finished:
                            break
                if not finished:
                    raise NodeUnavailableError(node.url, "stream ended before its final event")
            except NodeUnavailableError as exc:
                self._planner.failed(node)
                if started:
                    raise StreamInterruptedError(node.url, exc.reason) from exc
                failures.append((node.url, exc.reason))
                last = exc
                continue
            self._planner.succeeded(node)
            return
        raise self._none_left(model, failures) from last

    def _none_left(self, model: str | None, failures: list[tuple[str, str]]) -> NoNodeAvailableError:
        self._planner.discovery.invalidate()  # the next call looks the swarm up again
        what = f" serving model {model!r}" if model else ""
        return NoNodeAvailableError(f"no node{what} could serve the request", failures)

    # --- lifecycle --------------------------------------------------------------------------------
    async def close(self) -> None:
        await self._planner.discovery.close()
        await self._transport.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
