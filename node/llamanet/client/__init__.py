"""Client: an async Python client of a LlamaNet swarm.

- ``errors``      exception tree: discovery, node unavailable, rejected, none left, interrupted.
- ``responses``   ``GenerateResponse``, ``ChatResponse``, ``StreamChunk`` and the SSE event parsers.
- ``transport``   HTTP to one node: JSON calls, SSE streams, failures classified by ``routing.retry``.
- ``discovery``   ``DhtDiscovery`` (read-only ``SwarmClient``) and ``StaticDiscovery`` (fixed URLs), cached.
- ``planner``     ``Planner``: discovery + bans + fresh ``/status`` probes -> nodes to try, best first.
- ``client``      ``Client``: generate / generate_stream / chat / chat_stream with failover.

A node is a ``NodeView`` and is selected exactly as the node's router selects: the client imports
routing's pure modules (``view``, ``selection``, ``retry``, ``bans``, ``candidates``, ``lookup_cache``).

```python
client = Client(bootstrap_nodes="localhost:8001")
response = await client.generate(prompt="What is LlamaNet?", max_tokens=150)
await client.close()
```
"""

from llamanet.client.client import Client
from llamanet.client.errors import (
    ClientError,
    DiscoveryError,
    NodeUnavailableError,
    NoNodeAvailableError,
    RequestRejectedError,
    StreamInterruptedError,
)
from llamanet.client.responses import ChatResponse, GenerateResponse, StreamChunk
from llamanet.routing.view import NodeView

__all__ = [
    "ChatResponse",
    "Client",
    "ClientError",
    "DiscoveryError",
    "GenerateResponse",
    "NoNodeAvailableError",
    "NodeUnavailableError",
    "NodeView",
    "RequestRejectedError",
    "StreamChunk",
    "StreamInterruptedError",
]
