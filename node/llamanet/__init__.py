"""LlamaNet: a decentralized llama.cpp inference swarm.

Package map (the shared formats, errors and version are in ``llamanet_common``):
- ``settings``   one pydantic-settings class, read once per process and injected everywhere.
- ``models/``    the model catalog, cache, GGUF validation and downloads (PyPI wheels, URLs).
- ``engine/``    llama.cpp engine: slots, continuous batching, sampling, chat templates, text streaming.
- ``swarm/``     the Kademlia DHT: signed node records, full members and read-only clients.
- ``routing/``   the node view, the selection pipeline, retry policy and bans (shared with the client),
                 and the node's router: serve here or forward, with failover. No web framework.
- ``metrics``    the node's Prometheus metrics.
- ``node``       ``Node``: the composition root (settings, identity, engine, DHT peer, router, metrics).
- ``membership`` how a node takes part in the swarm: identity, advertised addresses, its record.
- ``api/``       FastAPI app: native, OpenAI-compatible and swarm routes, serve-or-forward, errors, auth.
- ``client/``    async Python client of a swarm: discovery, node selection (``routing``'s), failover.
- ``web/``       the web UI at ``/``: chat with any model in the swarm, live swarm panel.
- ``server``     starts a node: builds the ``Node``, loads the engine and serves the app with uvicorn.
- ``http_protocol`` the node's HTTP connections: caps (total, per address; 503), header deadline and size.
- ``cli/``       the ``llamanet`` console command and its subcommands.
"""

from llamanet_common.version import __version__

__all__ = ["__version__"]
