"""How a node takes part in the swarm: its identity, what it advertises, and its DHT peer.

With ``ADVERTISE_FILE`` (the operator's per-pod Services) the advertised DHT address and URLs come from
that file, re-read at each heartbeat: when its content changes, that heartbeat's record carries the new
address. Until the file exists (or while it is unreadable) the settings' address stays in use.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import replace
from pathlib import Path

from llamanet.node import Node
from llamanet.settings import Settings
from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet_common.advertise import Advertised, AdvertiseFileError, parse_advertised
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import EMBEDDINGS, RecordFields

log = logging.getLogger(__name__)

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
        frame_window_s=settings.dht_frame_window,
        max_contacts_per_ip=settings.dht_max_contacts_per_ip,
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
        # what llama.cpp runs with once loaded (0 where no GPU serves), N_GPU_LAYERS before
        gpu_layers=engine.info.n_gpu_layers if engine is not None else settings.n_gpu_layers,
        site=settings.site,
        name=settings.node_id,
        capabilities=[EMBEDDINGS] if engine is not None and engine.embedder is not None else [],
    )


class AdvertiseFile:
    """``ADVERTISE_FILE``: ``changed()`` answers its document when the content differs from the last one
    seen, else None (absent, unchanged, or bad: a bad content is logged once and the old address kept)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._last: str | None = None

    def changed(self) -> Advertised | None:
        if self.path is None:
            return None
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return None  # not published yet (the operator has not seen this pod's Service)
        if text == self._last:
            return None
        self._last = text
        try:
            return parse_advertised(text)
        except AdvertiseFileError as exc:
            log.warning("%s: %s; keeping the advertised address", self.path, exc)
            return None


def make_swarm_node(node: Node, identity: NodeIdentity) -> SwarmNode:
    settings = node.settings
    urls = advertised_urls(settings)
    watch = AdvertiseFile(settings.advertise_file)
    config = swarm_config(settings)
    first = watch.changed()
    if first is not None:  # from the first packet on, not only from the first heartbeat
        config = replace(config, advertise_host=first.dht.host, advertise_port=first.dht.port)
        urls = list(first.urls)

    def fields() -> RecordFields:
        nonlocal urls
        new = watch.changed()
        if new is not None:
            log.info("advertising DHT %s:%d and %s (%s)", new.dht.host, new.dht.port, new.urls, watch.path)
            swarm.readvertise(new.dht.host, new.dht.port)
            urls = list(new.urls)
        return record_fields(node, urls)

    swarm = SwarmNode(identity, config, record_factory=fields)
    return swarm
