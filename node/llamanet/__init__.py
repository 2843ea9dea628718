"""LlamaNet: a decentralized llama.cpp inference swarm.

Package map (the shared formats, errors and version are in ``llamanet_common``):
- ``settings``   one pydantic-settings class, read once per process and injected everywhere.
- ``models/``    the model catalog, cache, GGUF validation and downloads (PyPI wheels, URLs).
- ``engine/``    llama.cpp engine: slots, continuous batching, sampling, chat templates, text streaming.
- ``api/``       FastAPI app: native and OpenAI-compatible routes, errors, auth, metrics.
- ``swarm/``     the Kademlia DHT: signed node records, full members and read-only clients.
- ``client/``    async Python client of a swarm: discovery, node selection, failover.
- ``web/``       the web UI at ``/``: chat with any model in the swarm, live swarm panel.
- ``server``     starts a node: loads the engine and serves the app with uvicorn.
- ``cli/``       the ``llamanet`` console command and its subcommands.
"""

from llamanet_common.version import __version__

__all__ = ["__version__"]
