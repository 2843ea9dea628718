"""Prometheus metrics of one node, in a registry of its own (several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from llamanet.engine.events import Finished
from llamanet.engine.stats import EngineStats

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# the swarm's models become label values: a swarm announcing thousands must not blow up the scrape
MAX_SWARM_MODEL_LABELS = 64
_TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0)


class NodeMetrics:
    def __init__(self, stats: Callable[[], EngineStats]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "llamanet_requests", "HTTP requests by route and status", ["route", "status"], registry=r
        )
        self.prompt_tokens = Counter("llamanet_prompt_tokens", "Prompt tokens processed", registry=r)
        # the prefix cache's hit rate: cached / prompt tokens, and the share of requests that reused any
        self.cached_tokens = Counter(
            "llamanet_prompt_cached_tokens", "Prompt tokens reused from the prompt cache", registry=r
        )
        self.prompt_cache = Counter(
            "llamanet_prompt_cache_requests",
            "Generations by whether they reused a cached prompt prefix (hit) or not (miss)",
            ["result"],
            registry=r,
        )
        self.completion_tokens = Counter("llamanet_completion_tokens", "Tokens generated", registry=r)
        self.generations = Counter(
            "llamanet_generations", "Generations finished by reason", ["finish_reason"], registry=r
        )
        self.ttft = Histogram(
            "llamanet_time_to_first_token_seconds",
            "Time to first token",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tpot = Histogram(
            "llamanet_time_per_output_token_seconds",
            "Mean time per generated token after the first, per request",
            buckets=_TOKEN_BUCKETS,
            registry=r,
        )
        self.duration = Histogram(
            "llamanet_generation_seconds", "Generation wall time", buckets=_LATENCY_BUCKETS, registry=r
        )
        queue = Gauge("llamanet_queue_depth", "Requests waiting for a slot", registry=r)
        queue.set_function(lambda: stats().queue_depth)
        busy = Gauge("llamanet_slots_busy", "Slots generating", registry=r)
        busy.set_function(lambda: stats().slots_busy)
        total = Gauge("llamanet_slots_total", "Slots of the engine", registry=r)
        total.set_function(lambda: stats().slots_total)
        tps = Gauge("llamanet_tokens_per_second", "Recent generation throughput", registry=r)
        tps.set_function(lambda: stats().tokens_per_second)
        # the swarm as this node sees it (set by /metrics before rendering): the operator reads these,
        # /metrics needs no API key
        self.swarm_nodes = Gauge("llamanet_swarm_nodes", "Nodes this node sees in the swarm", registry=r)
        self.swarm_model_nodes = Gauge(
            "llamanet_swarm_model_nodes", "Nodes serving each model in the swarm", ["model"], registry=r
        )
        # who this node is (the operator certifies the public key its pods report here) and until when
        # its own certificate chain passes its own swarm authorities' check (0: none, or refused)
        self.node_info = Gauge(
            "llamanet_node_info", "This node's id and public key (hex)", ["node_id", "public_key"], registry=r
        )
        self.cert_not_after = Gauge(
            "llamanet_swarm_cert_not_after",
            "Unix time this node's certificate chain ends; 0: none that its swarm authorities accept",
            registry=r,
        )

    def observe_swarm(self, models: dict[str, list[str]]) -> None:
        """The swarm gauges from ``{model: [node ids]}`` (this node's view, itself included)."""
        self.swarm_model_nodes.clear()
        for name in sorted(models)[:MAX_SWARM_MODEL_LABELS]:
            self.swarm_model_nodes.labels(name).set(len(models[name]))
        self.swarm_nodes.set(len({n for nodes in models.values() for n in nodes}))

    def observe_identity(self, node_id: str, public_key: str) -> None:
        self.node_info.clear()
        self.node_info.labels(node_id, public_key).set(1)

    def observe_finished(self, f: Finished) -> None:
        self.prompt_tokens.inc(f.prompt_tokens)
        self.cached_tokens.inc(f.cached_tokens)
        self.prompt_cache.labels("hit" if f.cached_tokens > 0 else "miss").inc()
        self.completion_tokens.inc(f.completion_tokens)
        self.generations.labels(f.finish_reason).inc()
        self.ttft.observe(f.time_to_first_token)
        self.duration.observe(f.generation_time)
        if f.completion_tokens > 1:
            self.tpot.observe((f.generation_time - f.time_to_first_token) / (f.completion_tokens - 1))

    def render(self) -> bytes:
        return generate_latest(self.registry)
