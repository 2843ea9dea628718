"""LlamaNet's shared formats: what the node, the client and the operator all need, and nothing else.

No llama.cpp, no HTTP server, no DHT: the operator installs this package without the node.

Module map:
- ``errors``      the root of every package's exception tree, and the errors of these formats.
- ``version``     the release version (one number for node, operator and these formats).
- ``addresses``   ``host:port`` peer lists as written in flags, env vars and LlamaNode specs.
- ``advertise``   ``Advertised``: a pod's own external DHT address and URLs (operator -> ``ADVERTISE_FILE``).
- ``identity``    Ed25519 node keys: key files, signing, verification, node ids derived from keys.
- ``urls``        peer URLs: the one allowed form (http(s), host, port), refused addresses, ``NetworkPolicy``.
- ``record``      the signed node record stored in the DHT: fields (URLs checked), canonical JSON, signing.
- ``certs``       membership certificates: a swarm authority's scoped, expiring statement about a node
                  key, delegation to site authorities, ``verify_chain`` -> ``Scope``.
- ``proofs``      node-to-node proofs: the signed forward header, its replay cache, the proof of address.
- ``status``      ``NodeStatus``: a node's validated ``GET /status`` answer, and the one definition of load.
"""

from llamanet_common.version import __version__

__all__ = ["__version__"]
