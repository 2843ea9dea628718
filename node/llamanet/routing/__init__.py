"""Routing: any node answers any request by serving it or forwarding it to the best node for its model.

- ``peers``       ``Peer``: what routing needs to know about a node (from its DHT record or a probe).
- ``policy``      pure decisions: serve locally or forward, candidate order (power of two choices).
- ``bans``        failing peers are skipped for a while, with exponential backoff (node and client).
- ``directory``   the swarm as seen from this node: cached DHT lookups turned into ``Peer`` lists.
- ``forwarder``   HTTP forwarding with failover before the first token; streams pass straight through.
- ``router``      the edge used by the API routes: decide, probe, forward, or fall through to local.
"""
