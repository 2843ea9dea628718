"""``llamanet node``: run an inference node (flags mirror the seed's server; env vars work too)."""

from __future__ import annotations

import argparse

from llamanet.settings import Settings

# flag -> settings field; every flag also has an environment variable of the field's upper-case name;
# a ``bool`` flag is a switch taking no value
NODE_FLAGS: dict[str, tuple[str, type, str]] = {
    "--model-path": ("model_path", str, "GGUF file, or the name of a cached model (MODEL_PATH)"),
    "--models-dir": ("models_dir", str, "model cache directory (MODELS_DIR)"),
    "--model-name": ("model_name", str, "name to serve the model under (MODEL_NAME)"),
    "--host": ("host", str, "bind address (HOST, default 0.0.0.0)"),
    "--port": ("port", int, "HTTP API port (PORT, default 8000)"),
    "--dht-port": ("dht_port", int, "DHT UDP port (DHT_PORT, default 8001)"),
    "--node-id": ("node_id", str, "node name shown in the swarm (NODE_ID); the id derives from the key"),
    "--bootstrap-nodes": ("bootstrap_nodes", str, "host:port,... DHT peers to join (BOOTSTRAP_NODES)"),
    "--heartbeat-interval": ("heartbeat_interval", float, "DHT publish interval, s (HEARTBEAT_INTERVAL)"),
    "--dht-frame-window": (
        "dht_frame_window",
        float,
        "seconds a DHT frame may be off this clock; replays within it are dropped (DHT_FRAME_WINDOW, 60)",
    ),
    "--dht-max-contacts-per-ip": (
        "dht_max_contacts_per_ip",
        int,
        "routing-table contacts per IP address (DHT_MAX_CONTACTS_PER_IP, default 256)",
    ),
    "--dht-max-entries-per-ip": (
        "dht_max_entries_per_ip",
        int,
        "entries of one DHT key stored for one source address (DHT_MAX_ENTRIES_PER_IP, default 64)",
    ),
    "--advertise-host": ("advertise_host", str, "address peers use to reach this node (ADVERTISE_HOST)"),
    "--advertise-urls": ("advertise_urls", str, "HTTP URL(s) peers use, comma-separated (ADVERTISE_URLS)"),
    "--advertise-dht-port": (
        "advertise_dht_port",
        int,
        "DHT port peers use, behind NAT (ADVERTISE_DHT_PORT)",
    ),
    "--advertise-file": (
        "advertise_file",
        str,
        "JSON {dht: {host, port}, urls}, re-read each heartbeat; overrides the above (ADVERTISE_FILE)",
    ),
    "--node-key-file": (
        "node_key_file",
        str,
        "Ed25519 key file; the node id derives from it (NODE_KEY_FILE)",
    ),
    "--swarm-secret": ("swarm_secret", str, "shared secret; peers without it cannot join (SWARM_SECRET)"),
    "--swarm-secret-file": ("swarm_secret_file", str, "file holding the swarm secret (SWARM_SECRET_FILE)"),
    "--swarm-authority": (
        "swarm_authority",
        str,
        "trusted swarm authority public keys, hex, comma-separated: only certified nodes are listed, routed "
        "to and forward work (SWARM_AUTHORITY)",
    ),
    "--swarm-authority-file": (
        "swarm_authority_file",
        str,
        "file of trusted authority public keys, one a line (SWARM_AUTHORITY_FILE)",
    ),
    "--swarm-cert-file": (
        "swarm_cert_file",
        str,
        "this node key's certificate chain (JSON, from `llamanet swarm cert issue`), re-read each heartbeat "
        "(SWARM_CERT_FILE)",
    ),
    "--site": ("site", str, "site label shown in the swarm (SITE)"),
    "--route-sites": (
        "route_sites",
        str,
        "sites requests may be routed to, comma-separated; a request narrows it with the header "
        "x-llamanet-allowed-sites, never widens it (ROUTE_SITES, default: every site)",
    ),
    "--site-preference-margin": (
        "site_preference_margin",
        float,
        "prefer this node's site while its load is at most this much higher (SITE_PREFERENCE_MARGIN, 0.25)",
    ),
    "--prefix-routing": (
        "prefix_routing",
        str,
        "on|off: send requests sharing a prefix to the same node (PREFIX_ROUTING, default on)",
    ),
    "--prefix-min-chars": (
        "prefix_min_chars",
        int,
        "leading characters hashed for prefix routing; shorter requests go by load (PREFIX_MIN_CHARS, 512)",
    ),
    "--prefix-load-bound": (
        "prefix_load_bound",
        float,
        "e: prefix routing skips nodes above (1 + e) x the average load (PREFIX_LOAD_BOUND, 0.25)",
    ),
    "--prefix-holdings": (
        "prefix_holdings",
        str,
        "on|off: publish in /status a hash of each chat served lately, so a chat's next turn goes where "
        "its history is cached (PREFIX_HOLDINGS, default off)",
    ),
    "--max-hops": ("max_hops", int, "times a request may be forwarded (MAX_HOPS, default 2)"),
    "--forward-timeout": ("forward_timeout", float, "seconds to wait on a forwarded request (600)"),
    "--peer-networks": (
        "peer_networks",
        str,
        "peer URL classes routed to: loopback,private,public or auto (PEER_NETWORKS, default auto)",
    ),
    "--forward-window": ("forward_window", float, "seconds a forward proof stays valid (FORWARD_WINDOW, 30)"),
    "--forward-max-bytes": ("forward_max_bytes", int, "largest answer taken from a peer (FORWARD_MAX_BYTES)"),
    "--forward-idle-timeout": (
        "forward_idle_timeout",
        float,
        "seconds a peer's stream may stay silent (FORWARD_IDLE_TIMEOUT, 60)",
    ),
    "--n-ctx": ("n_ctx", int, "context size per slot, tokens (N_CTX, default 2048)"),
    "--n-batch": ("n_batch", int, "tokens per decode call (N_BATCH, default 512)"),
    "--step-tokens": (
        "step_tokens",
        int,
        "most tokens a decode step evaluates, long prompts in such chunks "
        "(STEP_TOKENS; 0: 128 on CPU, n_batch on GPU)",
    ),
    "--n-gpu-layers": ("n_gpu_layers", int, "layers offloaded to GPU, -1 all (N_GPU_LAYERS, default 0)"),
    "--n-threads": ("n_threads", int, "CPU threads (N_THREADS, default: all cores)"),
    "--n-parallel": (
        "n_parallel",
        int,
        "slots decoded together (N_PARALLEL; default: what memory fits, <= 8)",
    ),
    "--prefix-cache": (
        "prefix_cache",
        str,
        "on|off: reuse cached prompt prefixes, also across slots (PREFIX_CACHE, default on)",
    ),
    "--max-queue": ("max_queue", int, "requests waiting for a slot before 429 (MAX_QUEUE, default 64)"),
    "--max-tokens-default": ("max_tokens_default", int, "max_tokens when a request gives none (512)"),
    "--embeddings": (
        "embeddings",
        bool,
        "serve /v1/embeddings and /api/embed from a second, mean-pooled context on the loaded model "
        "(EMBEDDINGS, default off)",
    ),
    "--chat-format": ("chat_format", str, "chat template: gguf, chatml, gemma, llama-3, llama-2, phi-3"),
    "--api-key": ("api_key", str, "require 'Authorization: Bearer KEY' (API_KEY)"),
    "--api-key-file": ("api_key_file", str, "file holding the API key (API_KEY_FILE)"),
    "--max-body-bytes": (
        "max_body_bytes",
        int,
        "largest request body, bytes; 413 above (MAX_BODY_BYTES, 8388608)",
    ),
    "--max-held-body-bytes": (
        "max_held_body_bytes",
        int,
        "request body bytes held at once, all requests; 503 above (MAX_HELD_BODY_BYTES, 134217728)",
    ),
    "--body-timeout": ("body_timeout", float, "seconds a body may take to arrive; 408 (BODY_TIMEOUT, 30)"),
    "--header-timeout": (
        "header_timeout",
        float,
        "seconds headers may take to arrive; 408 (HEADER_TIMEOUT, 10)",
    ),
    "--max-header-bytes": (
        "max_header_bytes",
        int,
        "request line + headers, bytes; 431 above (MAX_HEADER_BYTES, 65536)",
    ),
    "--keep-alive-timeout": (
        "keep_alive_timeout",
        float,
        "seconds an idle keep-alive connection stays (KEEP_ALIVE_TIMEOUT, 5)",
    ),
    "--max-connections": ("max_connections", int, "open HTTP connections before 503 (MAX_CONNECTIONS, 1024)"),
    "--max-connections-per-client": (
        "max_connections_per_client",
        int,
        "open HTTP connections from one address before 503 (MAX_CONNECTIONS_PER_CLIENT, 128)",
    ),
    "--ui-store-history": (
        "ui_store_history",
        str,
        "on|off: the web UI may keep its conversation in the browser; off: it stores none and removes "
        "what is there (UI_STORE_HISTORY, default on)",
    ),
    "--log-level": ("log_level", str, "CRITICAL, ERROR, WARNING, INFO or DEBUG (LOG_LEVEL)"),
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "node",
        help="run an inference node",
        description="Run a LlamaNet node: llama.cpp engine, native + OpenAI HTTP API.",
    )
    for flag, (dest, kind, help_) in NODE_FLAGS.items():
        if kind is bool:  # a switch: given means on; absent leaves the environment's value
            p.add_argument(flag, dest=dest, action="store_const", const=True, default=None, help=help_)
        else:
            p.add_argument(flag, dest=dest, type=kind, default=None, help=help_)
    p.set_defaults(handler=run)


def run(settings: Settings, _: argparse.Namespace) -> int:
    from llamanet.server import run_node  # heavy imports only for this command

    return run_node(settings)
