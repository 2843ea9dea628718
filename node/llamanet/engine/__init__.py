"""The llama.cpp engine: one model, several slots decoded together (continuous batching).

- ``cxx_runtime`` the C++ runtime opened globally before llama.cpp's libraries (done on import, here).
- ``errors``      the engine's exception tree (load failure, invalid request, queue full, closed).
- ``params``      validated sampling parameters and the generation request handed to the scheduler.
- ``events``      what a generation yields: token deltas and a final summary.
- ``textstream``  bytes-to-text streaming: split UTF-8 sequences and stop strings held back correctly.
- ``chat``        chat templates: the GGUF's own, else one chosen by architecture, or an override.
- ``grammar``     GBNF grammars for structured output (any JSON, or a JSON schema).
- ``schema_limits`` how complex a response_format or tool schema (and its grammar) may be; checked first.
- ``tool_format`` tools in prompts (the template's own, or a generic Hermes-style section) and the grammar
                  forcing ``<tool_call>`` blocks valid for the functions' schemas.
- ``tool_parse``  tool calls parsed from the output as it streams (content, call opened, argument pieces).
- ``sampler``     builds a llama.cpp sampler chain (penalties, grammar, top-k/p, min-p, temp, seed).
- ``logprobs``    log-softmax and top alternatives from a logits row.
- ``sizing``      default slot count and context size from the model's shape and available memory.
- ``llama_log``   llama.cpp's log lines into Python logging, with correct levels.
- ``backends``    the compute backend and devices (ggml's registries); GPU layers only where a GPU serves.
- ``gil_calls``   llama.cpp's short functions bound to keep the GIL (``ctypes.PyDLL``): no hand-over cost.
- ``runtime``     loads the model and creates the multi-sequence context; trims and copies sequences' cells.
- ``prefix_cache`` which slot a request takes and whose cached prefix it reuses (any slot's; LRU eviction),
                  and when it waits for a prefix another slot is still evaluating.
- ``embedder``    ``--embeddings``: a second, pooled context on the same model, on a thread of its own.
- ``step_plan``   how many tokens of each prompt a decode step evaluates (shortest first, in short steps).
- ``scheduler``   the decode thread: admits jobs into slots, one ``llama_decode`` per step for all.
- ``outbox``      hands a decode step's events to the event loop at once (one wake-up per step).
- ``stats``       load figures: slots, queue and a sliding-window throughput meter.
- ``engine``      the asyncio facade: submit a request, iterate its events, cancel on disconnect.
"""

from llamanet.engine import cxx_runtime as _cxx_runtime

_cxx_runtime.load_globally()  # before any module of this package opens llama.cpp's libraries
