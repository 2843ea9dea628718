"""The node's HTTP API (FastAPI).

- ``errors``          OpenAI-shaped error bodies; maps every exception to a 4xx/5xx at the edge.
- ``schemas``         request models shared by the native and OpenAI routes (validation lives here).
- ``translate``       pure functions: request models to engine requests (sampling, grammar, limits).
- ``streaming``       runs a generation to completion or as SSE, cancelling it when the client leaves.
- ``native_routes``   ``/generate``, ``/generate/stream``, ``/status``, ``/info``, ``/health``.
- ``openai_routes``   ``/v1/models``, ``/v1/completions``, ``/v1/chat/completions``.
- ``metrics``         Prometheus metrics and ``/metrics``.
- ``auth``            optional bearer API key.
- ``app``             ``create_app``: wires the above around one engine.
"""
