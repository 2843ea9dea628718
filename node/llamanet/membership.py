"""How a node takes part in the swarm: its identity, what it advertises, and its DHT peer.

With ``ADVERTISE_FILE`` (the operator's per-pod Services) the advertised DHT address and URLs come from
that file, re-read at each heartbeat: when its content changes, that heartbeat's record carries the new
address. Until the file exists (or while it is unreadable) the settings' address stays in use.

With ``SWARM_CERT_FILE`` every record carries that file's certificate chain, re-read at each heartbeat
(a renewed certificate is published at the next one; a bad or missing file keeps the last good chain).
With ``SWARM_AUTHORITY`` the swarm layer refuses records without a chain from those keys, and this node
logs whenever its own chain stops (or starts) passing that check.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from llamanet.node import Node
from llamanet.settings import Settings
from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.storage import StorageCaps
from llamanet.swarm.validation import RecordLimits
from llamanet_common.advertise import Advertised, AdvertiseFileError, parse_advertised
from llamanet_common.certs import check_claims, parse_chain, verify_chain
from llamanet_common.errors import CertError
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
        limits=RecordLimits(authorities=settings.resolved_authorities()),
        secret=settings.resolved_swarm_secret(),
        advertise_host=advertised_host(settings),
        advertise_port=settings.advertise_dht_port,
        frame_window_s=settings.dht_frame_window,
        max_contacts_per_ip=settings.dht_max_contacts_per_ip,
        caps=StorageCaps(max_entries_per_source=settings.dht_max_entries_per_ip),
        # a configured peer that went missing (a partition that healed) is retried at least once a beat
        backoff_cap_s=min(30.0, settings.heartbeat_interval),
    )


def load_identity(settings: Settings) -> NodeIdentity:
    path: Path | None = settings.node_key_file
    return NodeIdentity.load_or_create(path)


def record_fields(node: Node, urls: list[str], cert: list[dict[str, Any]] | None = None) -> RecordFields:
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
        cert=cert,
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


class CertFile:
    """``SWARM_CERT_FILE``: ``chain()`` re-reads it and answers its chain, or the last good one when it
    is missing or bad (logged once per content)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._good: list[dict[str, Any]] | None = None
        self._seen: str | None = None

    def chain(self) -> list[dict[str, Any]] | None:
        if self.path is None:
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self._once(f"cannot read {self.path}: {exc}", str(exc))
            return self._good
        if text != self._seen:
            self._seen = text
            try:
                self._good = parse_chain(text)
            except CertError as exc:
                log.warning("%s: %s; keeping the last good certificate chain", self.path, exc)
        return self._good

    def _once(self, message: str, key: str) -> None:
        if key != self._seen:
            self._seen = key
            log.warning("%s; keeping the last good certificate chain", message)


def own_cert_problem(
    fields: RecordFields, public_key: str, authorities: frozenset[str], now: float
) -> str | None:
    """Why peers holding ``authorities`` would refuse a record with ``fields`` (None: they take it)."""
    if not authorities:
        return None
    if not fields.cert:
        return "this node has no membership certificate (--swarm-cert-file)"
    try:
        check_claims(verify_chain(fields.cert, public_key, authorities, now), fields.models, fields.site)
    except CertError as exc:
        return str(exc)
    return None


def make_swarm_node(node: Node, identity: NodeIdentity) -> SwarmNode:
    settings = node.settings
    urls = advertised_urls(settings)
    watch = AdvertiseFile(settings.advertise_file)
    certs = CertFile(settings.swarm_cert_file)
    config = swarm_config(settings)
    authorities = config.limits.authorities
    problem: str | None = None
    first = watch.changed()
    if first is not None:  # from the first packet on, not only from the first heartbeat
        config = replace(config, advertise_host=first.dht.host, advertise_port=first.dht.port)
        urls = list(first.urls)

    def fields() -> RecordFields:
        nonlocal urls, problem
        new = watch.changed()
        if new is not None:
            log.info("advertising DHT %s:%d and %s (%s)", new.dht.host, new.dht.port, new.urls, watch.path)
            swarm.readvertise(new.dht.host, new.dht.port)
            urls = list(new.urls)
        result = record_fields(node, urls, certs.chain())
        now_problem = own_cert_problem(result, identity.public_key_hex, authorities, time.time())
        if now_problem != problem:
            if now_problem is None:
                log.info("membership certificate accepted by this node's swarm authorities")
            else:
                log.warning("membership certificate refused: %s: peers will not list this node", now_problem)
            problem = now_problem
        accepted = bool(authorities) and now_problem is None and bool(result.cert)
        ends = [int(c["not_after"]) for c in result.cert or []]
        node.metrics.cert_not_after.set(min(ends) if accepted and ends else 0)
        return result

    swarm = SwarmNode(identity, config, record_factory=fields)
    return swarm
