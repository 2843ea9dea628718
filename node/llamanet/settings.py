"""The one settings class of a LlamaNet process.

Values come, in order of precedence, from command-line flags (passed as init arguments by the CLI),
environment variables (the seed's names: ``MODEL_PATH``, ``PORT``, ``N_CTX`` ...) and defaults.
Settings are read once in ``cli.main`` and handed to whatever needs them; nothing else reads the
environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from llamanet.routing.sites import BadSitesError, parse_sites
from llamanet_common.certs import parse_authorities
from llamanet_common.errors import MalformedCertError

LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]


def _default_models_dir() -> Path:
    return Path.home() / ".cache" / "llamanet" / "models"


class Settings(BaseSettings):
    """Every knob of a node and of the CLI, with the seed's environment variable names."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", env_ignore_empty=True)

    # --- model -------------------------------------------------------------------------------
    model_path: Path | None = Field(None, description="GGUF file to serve (MODEL_PATH)")
    model_name: str | None = Field(
        None, description="Name the model is served under; default: catalog name or file stem"
    )
    models_dir: Path = Field(default_factory=_default_models_dir, description="Model cache (MODELS_DIR)")
    chat_format: str | None = Field(
        None, description="Chat template override: a built-in name, or 'gguf' to force the embedded one"
    )

    # --- network -----------------------------------------------------------------------------
    host: str = "0.0.0.0"
    port: int = Field(8000, ge=1, le=65535)
    dht_port: int = Field(8001, ge=1, le=65535)
    node_id: str | None = None
    bootstrap_nodes: str = ""
    heartbeat_interval: float = Field(10.0, gt=0)
    dht_frame_window: float = Field(
        60.0,
        ge=5,
        le=3600,
        description="DHT frames off this node's clock by more than this many seconds, or replayed within "
        "it, are dropped (DHT_FRAME_WINDOW)",
    )
    dht_max_contacts_per_ip: int = Field(
        256,
        ge=1,
        le=100_000,
        description="Routing-table contacts per IP address; a site behind one NAT address shares one "
        "(DHT_MAX_CONTACTS_PER_IP)",
    )
    dht_max_entries_per_ip: int = Field(
        64,
        ge=1,
        le=100_000,
        description="Entries of one DHT key this node stores for one source address; a full key takes "
        "no newcomer (DHT_MAX_ENTRIES_PER_IP)",
    )

    # --- swarm -------------------------------------------------------------------------------
    advertise_host: str | None = Field(
        None,
        description="Address peers use to reach this node (ADVERTISE_HOST); default: the bind address, "
        "or this host's address when binding to all interfaces",
    )
    advertise_urls: str = Field("", description="Comma-separated HTTP URLs peers use (ADVERTISE_URLS)")
    advertise_dht_port: int | None = Field(None, ge=1, le=65535, description="DHT port peers use, if NATed")
    advertise_file: Path | None = Field(
        None,
        description="JSON {dht: {host, port}, urls} re-read at each heartbeat; when it changes the node "
        "republishes with that DHT address and those URLs (ADVERTISE_FILE; the operator's per-pod Services)",
    )
    node_key_file: Path | None = Field(None, description="Ed25519 key of this node; created if missing")
    swarm_secret: str | None = Field(None, description="Shared secret: peers without it cannot join")
    swarm_secret_file: Path | None = None
    swarm_authority: str = Field(
        "",
        description="Trusted swarm authority public keys, hex, comma-separated (SWARM_AUTHORITY): with any, "
        "only nodes certified by one of them are listed, routed to and take part in forwarding",
    )
    swarm_authority_file: Path | None = Field(
        None, description="File of trusted authority public keys, one a line (SWARM_AUTHORITY_FILE)"
    )
    swarm_cert_file: Path | None = Field(
        None,
        description="JSON certificate chain for this node's key, re-read each heartbeat (SWARM_CERT_FILE)",
    )
    site: str | None = Field(None, max_length=64, description="Site label shown in the swarm (SITE)")
    route_sites: str = Field(
        "",
        description="Sites this node may route requests to, comma-separated (ROUTE_SITES); default: every "
        "site. A request may narrow it (x-llamanet-allowed-sites), never widen it",
    )
    site_preference_margin: float = Field(
        0.25,
        ge=0,
        le=10,
        description="Prefer nodes of this node's site while their load (requests per slot) is at most "
        "this much higher (SITE_PREFERENCE_MARGIN)",
    )
    prefix_routing: bool = Field(
        True,
        description="Send requests that share a prefix to the same node (PREFIX_ROUTING): consistent "
        "hashing of the leading text over the model's nodes, within a bounded load",
    )
    prefix_min_chars: int = Field(
        512,
        ge=1,
        le=1_000_000,
        description="Leading characters hashed for prefix routing; shorter requests are routed by load "
        "(PREFIX_MIN_CHARS)",
    )
    prefix_load_bound: float = Field(
        0.25,
        ge=0,
        le=100,
        description="e: prefix routing skips a node above (1 + e) times the average load of the model's "
        "nodes (PREFIX_LOAD_BOUND)",
    )
    prefix_holdings: bool = Field(
        False,
        description="Publish in /status a 64-bit hash of each chat served lately, and probe two nodes for "
        "a chat's earlier turns (PREFIX_HOLDINGS), so a chat's next turn goes where its history is "
        "cached; off (the default: it did not beat hashing alone in bench/prefix_routing.py): publish "
        "none (a peer that knows a chat's whole text could tell it was served here)",
    )
    max_hops: int = Field(2, ge=1, le=8, description="How many times a request may be forwarded")
    forward_timeout: float = Field(600.0, gt=0, description="Seconds to wait on a forwarded request")

    # --- trust between nodes (docs/security.md) ------------------------------------------------
    peer_networks: str = Field(
        "auto",
        description="Address classes of peer URLs this node routes to: loopback,private,public or 'auto' "
        "(private and public, plus loopback when this node advertises a loopback address)",
    )
    forward_window: float = Field(
        30.0, gt=0, le=600, description="Seconds a forwarded request's proof stays valid (clock skew)"
    )
    forward_max_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest answer (whole or streamed) taken from a peer"
    )
    forward_idle_timeout: float = Field(
        60.0, gt=0, description="Seconds a peer's stream may stay silent after its first bytes"
    )

    # --- engine ------------------------------------------------------------------------------
    n_ctx: int = Field(2048, ge=64, description="Context size of each slot, in tokens")
    n_batch: int = Field(512, ge=1, description="Tokens per llama_decode call")
    step_tokens: int = Field(
        0,
        ge=0,
        description="Most tokens one decode step evaluates (STEP_TOKENS; 0, the default: 128 on a CPU, "
        "n_batch on a GPU): long prompts go in such chunks, shortest prompt first, so a short request "
        "waits for one short step, not behind a long prompt",
    )
    n_gpu_layers: int = Field(0, ge=-1, description="Layers offloaded to the GPU (-1: all)")
    n_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1)
    n_parallel: int | None = Field(
        None, ge=1, le=64, description="Slots decoded together; default: as many as memory allows, up to 8"
    )
    prefix_cache: bool = Field(
        True,
        description="Reuse cached prompt prefixes (PREFIX_CACHE): a slot's own, or another slot's copied, "
        "so a shared system prompt is evaluated once; off: every prompt is evaluated in full",
    )
    max_queue: int = Field(64, ge=0, description="Requests waiting for a slot before 429")
    max_tokens_default: int = Field(512, ge=1, description="max_tokens when a request gives none")
    embeddings: bool = Field(
        False,
        description="Serve /v1/embeddings (and Ollama's /api/embed) from a second, pooled context on the "
        "loaded model (EMBEDDINGS)",
    )

    # --- access ------------------------------------------------------------------------------
    api_key: str | None = Field(None, description="Bearer key required on every route but /health, /metrics")
    api_key_file: Path | None = None

    # --- limits (hostile input) -------------------------------------------------------------
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest request body; 413 above it")
    max_held_body_bytes: int = Field(
        128 * 1024 * 1024, ge=1024, description="Request body bytes held at once, all requests; 503 above"
    )
    body_timeout: float = Field(30.0, gt=0, description="Seconds a request body may take to arrive; 408")
    header_timeout: float = Field(10.0, gt=0, description="Seconds a request's headers may take to arrive")
    max_header_bytes: int = Field(64 * 1024, ge=1024, description="Request line plus headers; 431 above")
    keep_alive_timeout: float = Field(5.0, gt=0, description="Seconds an idle keep-alive connection is kept")
    max_connections: int = Field(1024, ge=1, description="Open HTTP connections before 503")
    max_connections_per_client: int = Field(
        128, ge=1, description="Open HTTP connections from one client address before 503"
    )

    # --- web UI ------------------------------------------------------------------------------
    ui_store_history: bool = Field(
        True,
        description="Let the web UI keep its conversation in the browser's localStorage (UI_STORE_HISTORY); "
        "off: the page stores none, removes what a browser holds and locks its own setting",
    )

    log_level: LogLevel = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("route_sites")
    @classmethod
    def _sites(cls, value: str) -> str:
        try:
            parse_sites(value or None, "route_sites")  # fails early on a bad list
        except BadSitesError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("swarm_authority")
    @classmethod
    def _authorities(cls, value: str) -> str:
        try:
            parse_authorities(value)  # fails early on a key that is not one
        except MalformedCertError as exc:
            raise ValueError(str(exc)) from exc
        return value

    def allowed_sites(self) -> frozenset[str] | None:
        """``ROUTE_SITES`` as a set; None: every site."""
        return parse_sites(self.route_sites or None, "route_sites")

    def resolved_api_key(self) -> str | None:
        """The API key from ``api_key`` or, failing that, the first line of ``api_key_file``."""
        if self.api_key:
            return self.api_key
        if self.api_key_file is not None:
            key = self.api_key_file.read_text(encoding="utf-8").strip()
            return key or None
        return None

    def resolved_swarm_secret(self) -> bytes | None:
        if self.swarm_secret:
            return self.swarm_secret.encode()
        if self.swarm_secret_file is not None:
            secret = self.swarm_secret_file.read_text(encoding="utf-8").strip()
            return secret.encode() or None
        return None

    def resolved_authorities(self) -> frozenset[str]:
        """The trusted swarm authority keys of ``swarm_authority`` and ``swarm_authority_file`` together
        (empty: no authority); ``MalformedCertError`` for a key that is not one."""
        text = self.swarm_authority
        if self.swarm_authority_file is not None:
            text += "," + self.swarm_authority_file.read_text(encoding="utf-8")
        return parse_authorities(text)

    def bootstrap_peers(self) -> list[str]:
        """``BOOTSTRAP_NODES`` split into ``host:port`` strings."""
        return [p.strip() for p in self.bootstrap_nodes.split(",") if p.strip()]
