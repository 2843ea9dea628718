"""Client: an async Python client of a LlamaNet swarm.

- ``errors``      exception tree: discovery, node unavailable, rejected, none left, interrupted.
- ``nodes``       ``NodeInfo``: one node as the client sees it (from a DHT record, a URL or a probe).
- ``responses``   ``GenerateResponse``, ``ChatResponse``, ``StreamChunk`` and the SSE event parsers.
- ``selection``   pure node selection: eligibility, power-of-two probe targets, the order to try nodes in.
- ``transport``   HTTP to one node: JSON calls, SSE streams, failure classification.
- ``discovery``   ``DhtDiscovery`` (read-only ``SwarmClient``) and ``StaticDiscovery`` (fixed URLs), cached.
- ``router``      ``Router``: discovery + bans + fresh ``/status`` probes -> candidates, best first.
- ``client``      ``Client``: generate / generate_stream / chat / chat_stream with failover.

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
from llamanet.client.nodes import NodeInfo
from llamanet.client.responses import ChatResponse, GenerateResponse, StreamChunk

__all__ = [
    "ChatResponse",
    "Client",
    "ClientError",
    "DiscoveryError",
    "GenerateResponse",
    "NoNodeAvailableError",
    "NodeInfo",
    "NodeUnavailableError",
    "RequestRejectedError",
    "StreamChunk",
    "StreamInterruptedError",
]
