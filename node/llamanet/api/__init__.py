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
- ``openai_shapes``   pure: usage and logprobs of the OpenAI answers.
- ``continued``       the local half of resumed streams: a broken forwarded stream's rest, served here.
- ``tools``           pure: ``tools`` / ``tool_choice`` as a plan (offered functions, forcing grammar, parser)
                      for chat and Responses, its refusals, chat answers' ``tool_calls`` (message, deltas).
- ``responses_schemas``   the ``/v1/responses`` body (OpenAI's Responses API).
- ``responses_translate`` pure: a Responses request to chat turns (tool calls and outputs too), a tool plan
                          and an engine request; refusals.
- ``responses_shapes``    pure: the ``response`` object, usage, the output items (message, function call).
- ``responses_events``    pure: the output as the streamed event sequence; a whole answer built the same way.
- ``responses_routes``    ``/v1/responses``, streamed or not, serve-or-forward.
- ``ollama_schemas``      Ollama's request bodies and ``options``.
- ``ollama_translate``    pure: Ollama requests to chat turns and engine requests; honoured/hinted/refused.
- ``ollama_shapes``       pure: NDJSON chunks, the ``done`` object, listings, ``{"error": "..."}``.
- ``ollama_routes``       ``/api/chat``, ``/api/generate``, ``/api/tags``, ``/api/show``, ``/api/ps``,
                          ``/api/version``; every error Ollama-shaped; serve-or-forward.
- ``embeddings``          pure: embedding request bodies (OpenAI, Ollama), inputs, ``dimensions``, float /
                          base64 encoding, the answers' shapes.
- ``embeddings_routes``   ``/v1/embeddings``, ``/api/embed``, ``/api/embeddings``: to a node with
                          ``--embeddings`` (serve-or-forward), on the engine's embedding thread.
- ``swarm_routes``    ``/dht/status``, ``/swarm/nodes``, ``/swarm/proof`` (proof of address).
- ``auth``            optional bearer API key (this node's users only; never forwarded).
- ``peer_auth``       forwarded work from peers: the signed forward proof checked at the edge (target,
                      window, replay, swarm-secret MAC); the start-up trust lines.
- ``body_limit``      reads each request body once, capped (413, chunked bodies too) and timed (408).
- ``offload``         large inputs are tokenized and their grammars built in a small bounded pool.
- ``submit``          validated body -> tokenized requests + samplers (via ``offload``) -> generations.
- ``app``             ``create_app``: wires the above around one ``Node`` (``/metrics`` too).
"""
