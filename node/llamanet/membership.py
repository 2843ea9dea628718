"""How a node takes part in the swarm: its identity, what it advertises, and its DHT peer."""

from __future__ import annotations

import socket
from pathlib import Path

from llamanet.node import Node
from llamanet.settings import Settings
from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields

_ANY = ("", "0.0.0.0", "::")


def advertised_host(settings: Settings) -> str:
    """The address peers should use: configured, else the bind address, else this host's address."""
    if settings.advertise_host:
        return settings.advertise_host
    if settings.host not in _ANY:
        return settings.host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def advertised_urls(settings: Settings) -> list[str]:
    given = [u.strip().rstrip("/") for u in settings.advertise_urls.split(",") if u.strip()]
    if given:
        return given
    host = advertised_host(settings)
    host = f"[{host}]" if ":" in host else host
    return [f"http://{host}:{settings.port}"]


def swarm_config(settings: Settings) -> SwarmConfig:
    return SwarmConfig(
        heartbeat_interval_s=settings.heartbeat_interval,
        secret=settings.resolved_swarm_secret(),
        advertise_host=advertised_host(settings),
        advertise_port=settings.advertise_dht_port,
    )


def load_identity(settings: Settings) -> NodeIdentity:
    path: Path | None = settings.node_key_file
    return NodeIdentity.load_or_create(path)


def record_fields(node: Node, urls: list[str]) -> RecordFields:
    s = node.stats()
    engine = node.engine
    settings = node.settings
    return RecordFields(
        urls=urls,
        models=[node.model_name] if engine is not None else [],
        context_size=engine.context_size if engine is not None else 0,
        queue_depth=s.queue_depth,
        active_requests=s.slots_busy,
        slots_total=s.slots_total,
        slots_free=s.slots_free if engine is not None else 0,
        tokens_per_s=s.tokens_per_second,
        uptime_s=node.uptime,
        version=node.version,
        gpu_layers=settings.n_gpu_layers,
        site=settings.site,
        name=settings.node_id,
    )


def make_swarm_node(node: Node, identity: NodeIdentity) -> SwarmNode:
    urls = advertised_urls(node.settings)
    return SwarmNode(identity, swarm_config(node.settings), record_factory=lambda: record_fields(node, urls))
