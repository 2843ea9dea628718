"""The node's HTTP API (FastAPI).

- ``errors``          OpenAI-shaped error bodies; maps every exception to a 4xx/5xx at the edge.
- ``schemas``         request models shared by the native and OpenAI routes (validation lives here).
- ``translate``       pure functions: request models to engine requests (sampling, grammar, limits).
- ``streaming``       runs a generation (or waits for a forwarded one) to completion or as a stream,
                      cancelling it when the client leaves; 499 ``CLIENT_CLOSED_REQUEST``.
- ``dependencies``    the node, its engine, and serve-or-forward as one FastAPI dependency per body type;
                      forwarded answers (routing's ``Upstream``) become responses here.
- ``native_routes``   ``/generate``, ``/generate/stream``, ``/status``, ``/info``, ``/health``.
- ``openai_routes``   ``/v1/models``, ``/v1/completions``, ``/v1/chat/completions``.
- ``swarm_routes``    ``/dht/status``, ``/swarm/nodes``, ``/swarm/proof`` (proof of address).
- ``auth``            optional bearer API key (this node's users only; never forwarded).
- ``peer_auth``       forwarded work from peers: the signed forward proof checked at the edge (target,
                      window, replay, swarm-secret MAC); the start-up trust lines.
- ``app``             ``create_app``: wires the above around one ``Node`` (``/metrics`` too).
"""
