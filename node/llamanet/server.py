"""Runs a node: validate the model file, open the DHT peer and HTTP (``/health`` says 503 while the
model loads), load the engine in a worker thread, publish to the swarm, and exit non-zero on failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import uvicorn
import uvloop

from llamanet import membership
from llamanet.api.app import create_app
from llamanet.api.peer_auth import refusal, trust_summary
from llamanet.engine.chat import BUILTIN, GGUF
from llamanet.engine.engine import Engine
from llamanet.engine.runtime import RuntimeConfig
from llamanet.engine.sizing import choose_sizing
from llamanet.http_protocol import ConnectionLimits, protocol_for
from llamanet.models.cache import ModelCache
from llamanet.models.gguf import GGUFInfo, read_gguf
from llamanet.node import Node
from llamanet.routing.capped import AnswerLimits
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.members import CertifiedPeers
from llamanet.routing.prefix import PrefixPolicy
from llamanet.routing.prefix_holdings import PrefixHoldings, holdings_capacity
from llamanet.routing.router import RequestRouter
from llamanet.routing.sites import SitePolicy
from llamanet.settings import Settings
from llamanet_common.errors import LlamaNetError
from llamanet_common.proofs import ForwardSigner
from llamanet_common.urls import NetworkPolicy, url_problem

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn re-raises the SIGTERM/SIGINT that stopped it once it has shut down, and the signal's
    default action then kills the process at once: the swarm's withdrawal (on the way out of ``serve``)
    would never run, leaving this node listed until its records expire. The signal is dropped instead;
    the shutdown it asked for has already happened."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


class NodeStartupError(LlamaNetError):
    """The node cannot start with the given settings."""


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes; None where there is no such file."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def runtime_config(settings: Settings) -> RuntimeConfig:
    assert settings.n_parallel is not None, "prepare() sizes the slots"
    return RuntimeConfig(
        n_ctx=settings.n_ctx,
        n_batch=settings.n_batch,
        step_tokens=settings.step_tokens,  # step_plan keeps every step within n_batch
        n_parallel=settings.n_parallel,
        n_threads=settings.n_threads,
        n_gpu_layers=settings.n_gpu_layers,
        prefix_cache=settings.prefix_cache,
    )


def prepare(settings: Settings) -> tuple[Node, GGUFInfo]:
    """Everything that can fail fast, before a port is opened."""
    if settings.model_path is None:
        raise NodeStartupError(
            "no model given: pass --model-path FILE (or a cached model name) or set MODEL_PATH"
        )
    if settings.chat_format and settings.chat_format not in (GGUF, *BUILTIN):
        raise NodeStartupError(
            f"unknown --chat-format {settings.chat_format!r}; choose one of: {', '.join([GGUF, *BUILTIN])}"
        )
    path, name = ModelCache(settings.models_dir).resolve(settings.model_path)
    gguf = read_gguf(path)
    if settings.chat_format == GGUF and gguf.chat_template is None:
        raise NodeStartupError(f"--chat-format gguf: {path} has no embedded chat template")
    for url in membership.advertised_urls(settings):
        if (problem := url_problem(url)) is not None:
            raise NodeStartupError(f"advertised URL {url!r}: {problem}")
    try:
        NetworkPolicy.parse(settings.peer_networks)
    except ValueError as exc:
        raise NodeStartupError(f"--peer-networks: {exc}") from exc
    identity = membership.load_identity(settings)
    sizing = choose_sizing(gguf, settings.n_ctx, settings.n_parallel, available_memory())
    log.info("%d slots of %d tokens (%s)", sizing.n_parallel, sizing.n_ctx, sizing.reason)
    settings = settings.model_copy(
        update={"model_path": path, "n_ctx": sizing.n_ctx, "n_parallel": sizing.n_parallel}
    )
    node = Node(settings=settings, node_id=identity.node_id, model_name=settings.model_name or name)
    node.identity = identity
    return node, gguf


async def serve(node: Node, gguf: GGUFInfo) -> None:
    settings = node.settings
    config = uvicorn.Config(
        create_app(node),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=30,
        access_log=settings.log_level == "DEBUG",
        http=protocol_for(
            ConnectionLimits(
                max_total=settings.max_connections,
                max_per_client=settings.max_connections_per_client,
                header_timeout_s=settings.header_timeout,
                max_header_bytes=settings.max_header_bytes,
            )
        ),
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
    )
    server = _Server(config)
    async with AsyncExitStack() as stack:
        swarm = membership.make_swarm_node(node, node.identity or membership.load_identity(settings))
        try:
            await swarm.start(settings.host, settings.dht_port, settings.bootstrap_peers())
        except OSError as exc:
            raise NodeStartupError(f"cannot open the DHT port {settings.dht_port}/udp: {exc}") from exc
        stack.push_async_callback(swarm.stop)
        client = await stack.enter_async_context(
            httpx.AsyncClient(timeout=httpx.Timeout(settings.forward_timeout, connect=3.0))
        )
        node.swarm = swarm
        secret = settings.resolved_swarm_secret()
        api_key = settings.resolved_api_key() is not None
        authorities = swarm.config.limits.authorities
        log.info("trust: %s", trust_summary(api_key, secret is not None, bool(authorities)))
        if authorities:
            log.info("trusted swarm authorities: %s", ", ".join(sorted(authorities)))
        if (why := refusal(api_key, secret is not None, bool(authorities))) is not None:
            log.warning("%s", why)
        policy = NetworkPolicy.parse(settings.peer_networks, own_host=membership.advertised_host(settings))
        directory = SwarmDirectory(
            swarm.get_nodes,
            node.node_id,
            allows=policy.allows,
            cert_skew_s=swarm.config.limits.clock_skew_s if authorities else None,
        )
        if authorities:
            node.members = CertifiedPeers(
                authorities,
                directory.records,
                swarm.get_node,
                clock_skew_s=swarm.config.limits.clock_skew_s,
            )
        node.router = RequestRouter(
            directory=directory,
            client=client,
            local_model=node.model_name,
            local_slots_free=node.local_slots_free,
            max_hops=settings.max_hops,
            sites=SitePolicy(settings.allowed_sites(), "--route-sites"),
            own_site=settings.site,
            site_margin=settings.site_preference_margin,
            prefix=PrefixPolicy(
                settings.prefix_routing, settings.prefix_min_chars, settings.prefix_load_bound
            ),
            local_status=node.status,
            holdings=PrefixHoldings(
                holdings_capacity(settings.n_parallel or 8) if settings.prefix_holdings else 0
            ),
            signer=ForwardSigner(swarm.identity, secret),
            limits=AnswerLimits(settings.forward_max_bytes, settings.forward_idle_timeout),
            local_embeddings=settings.embeddings,
        )

        async def load() -> None:
            assert settings.model_path is not None
            try:
                node.engine = await asyncio.to_thread(
                    Engine.load,
                    settings.model_path,
                    node.model_name,
                    runtime_config(settings),
                    chat_format=settings.chat_format,
                    max_queue=settings.max_queue,
                    gguf=gguf,
                    embeddings=settings.embeddings,
                )
            except LlamaNetError as exc:
                node.load_error = str(exc)
                log.error("model load failed: %s", exc)
                server.should_exit = True
                return
            await swarm.republish()
            log.info(
                "node %s ready: model %s on %s, DHT %s:%d",
                node.node_id[:12],
                node.model_name,
                membership.advertised_urls(settings)[0],
                *swarm.advertised_address(),
            )

        loader = asyncio.create_task(load())
        try:
            await server.serve()
        finally:
            await loader
            if node.engine is not None:
                node.engine.close()


def run_node(settings: Settings) -> int:
    """Blocking entry point of ``llamanet node``; returns the process exit code."""
    node, gguf = prepare(settings)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # uvicorn's httptools parser too
        runner.run(serve(node, gguf))
    return 1 if node.load_error else 0
