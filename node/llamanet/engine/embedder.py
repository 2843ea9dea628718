"""Embeddings (``--embeddings``): a second llama.cpp context on the model the node already loaded.

The context has embeddings on and a pooling type: the model's own when its GGUF names one (embedding
models: mean, CLS or last token), else mean pooling (decoder models such as SmolLM2: the average of the
last hidden states of the input's tokens). Vectors are L2-normalised, as OpenAI's are. The weights are
shared with the generation context, not loaded twice.

The context is used by one thread of its own (``Embedder``), never by the decode thread, so embedding
requests neither block the event loop nor stall the generation scheduler. Each input is one sequence and
must fit in one decode (``n_ctx`` tokens, whole: pooling sees the entire input); several short inputs
share a decode (``pack``). Requests beyond ``max_queue`` waiting are refused (429).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import llama_cpp
import numpy as np
import numpy.typing as npt
from llama_cpp import _internals

from llamanet.engine.errors import (
    EngineClosedError,
    EngineError,
    InvalidRequestError,
    ModelLoadError,
    QueueFullError,
)
from llamanet.engine.runtime import Runtime

MAX_TOTAL_TOKENS = 65536  # tokens of all the inputs of one request together
N_SEQ_MAX = 16  # inputs decoded together
POOLING_NAMES = {
    llama_cpp.LLAMA_POOLING_TYPE_MEAN: "mean",
    llama_cpp.LLAMA_POOLING_TYPE_CLS: "cls",
    llama_cpp.LLAMA_POOLING_TYPE_LAST: "last",
}

Input = str | Sequence[int]


@dataclass(frozen=True)
class Embeddings:
    vectors: npt.NDArray[np.float32]  # one L2-normalised row per input
    prompt_tokens: int


def pooling_for(declared: str | None) -> int:
    """The pooling type: the GGUF's ``<arch>.pooling_type`` when it is mean, CLS or last; else mean."""
    try:
        value = int(declared) if declared is not None else None
    except ValueError:
        value = None
    return value if value in POOLING_NAMES else llama_cpp.LLAMA_POOLING_TYPE_MEAN


def pack(lengths: Sequence[int], n_ctx: int, n_seq_max: int) -> list[list[int]]:
    """Inputs (by index, in order) grouped into decodes of at most ``n_ctx`` tokens and ``n_seq_max``
    sequences; every length must be at most ``n_ctx``."""
    groups: list[list[int]] = []
    tokens = 0
    for i, n in enumerate(lengths):
        if not groups or tokens + n > n_ctx or len(groups[-1]) >= n_seq_max:
            groups.append([])
            tokens = 0
        groups[-1].append(i)
        tokens += n
    return groups


def normalize(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each row divided by its L2 norm (a zero row stays zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return out


class EmbeddingContext:
    """The pooled embedding context and its batch; used by one thread at a time."""

    def __init__(self, runtime: Runtime, n_ctx: int, n_threads: int) -> None:
        model = runtime.model
        arch = model.metadata().get("general.architecture", "")
        self.pooling = pooling_for(model.metadata().get(f"{arch}.pooling_type"))
        train = model.n_ctx_train()
        self.n_ctx = min(n_ctx, train) if train > 0 else n_ctx
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = self.n_ctx
        cparams.n_batch = cparams.n_ubatch = self.n_ctx  # an input is pooled whole, in one ubatch
        cparams.n_seq_max = N_SEQ_MAX
        cparams.kv_unified = True  # the sequences of one decode share its cells
        cparams.n_threads = cparams.n_threads_batch = n_threads
        cparams.embeddings = True
        cparams.pooling_type = self.pooling
        try:
            self.context = _internals.LlamaContext(model=model, params=cparams, verbose=False)
        except ValueError as exc:
            raise ModelLoadError(f"llama.cpp could not create the embedding context: {exc}") from exc
        self.ctx = self.context.ctx
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.dimensions = int(llama_cpp.llama_model_n_embd_out(model.model))
        self.batch = llama_cpp.llama_batch_init(self.n_ctx, 0, 1)

    def decode(self, inputs: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        """The pooled (not yet normalised) embedding of each input, decoded together."""
        b = self.batch
        k = 0
        for seq, tokens in enumerate(inputs):
            for pos, token in enumerate(tokens):
                b.token[k], b.pos[k], b.n_seq_id[k], b.logits[k] = token, pos, 1, True
                b.seq_id[k][0] = seq
                k += 1
        b.n_tokens = k
        llama_cpp.llama_memory_clear(self.memory, True)
        if (rc := llama_cpp.llama_decode(self.ctx, b)) != 0:
            raise EngineError(f"llama_decode of {k} tokens for embeddings failed ({rc})")
        out = np.empty((len(inputs), self.dimensions), dtype=np.float32)
        for seq in range(len(inputs)):
            ptr = llama_cpp.llama_get_embeddings_seq(self.ctx, seq)
            if not ptr:
                raise EngineError(f"llama.cpp gave no embedding for sequence {seq}")
            out[seq] = np.ctypeslib.as_array(ptr, shape=(self.dimensions,))
        return out

    def close(self) -> None:
        llama_cpp.llama_batch_free(self.batch)
        self.context.close()


class Embedder:
    """The asyncio face: ``embed`` tokenizes, checks and decodes on the embedding thread."""

    def __init__(self, runtime: Runtime, n_ctx: int, n_threads: int, max_queue: int) -> None:
        self.runtime = runtime
        self.context = EmbeddingContext(runtime, n_ctx, n_threads)
        self.max_queue = max_queue
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="llamanet-embed")
        self._pending = 0
        self._closed = False

    @property
    def n_ctx(self) -> int:
        """Tokens one input may have."""
        return self.context.n_ctx

    @property
    def dimensions(self) -> int:
        return self.context.dimensions

    @property
    def pooling(self) -> str:
        return POOLING_NAMES[self.context.pooling]

    async def embed(self, inputs: Sequence[Input], *, truncate: bool = False) -> Embeddings:
        """Embeddings of ``inputs`` (texts, or token ids); ``truncate`` cuts inputs longer than the
        context to fit (Ollama's default), else they are refused (``InvalidRequestError``)."""
        if self._closed:
            raise EngineClosedError("the node is shutting down")
        if self._pending > self.max_queue:
            raise QueueFullError(f"{self._pending} embedding requests are waiting; retry shortly", 1)
        cancelled = threading.Event()
        self._pending += 1
        try:
            job = asyncio.get_running_loop().run_in_executor(
                self._pool, self._run, list(inputs), truncate, cancelled
            )
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                cancelled.set()  # the client left: stop between decodes
                job.add_done_callback(lambda f: f.cancelled() or f.exception())  # nobody waits for it
                raise
        finally:
            self._pending -= 1

    def _run(self, inputs: list[Input], truncate: bool, cancelled: threading.Event) -> Embeddings:
        tokens = [self._tokens(x, i, truncate) for i, x in enumerate(inputs)]
        total = sum(len(t) for t in tokens)
        if total > MAX_TOTAL_TOKENS:
            raise InvalidRequestError(
                f"the inputs have {total} tokens together, more than the {MAX_TOTAL_TOKENS} one request "
                "may have; send them in several requests",
                param="input",
                code="too_many_tokens",
            )
        rows = np.empty((len(tokens), self.dimensions), dtype=np.float32)
        for group in pack([len(t) for t in tokens], self.n_ctx, N_SEQ_MAX):
            if cancelled.is_set() or self._closed:
                raise EngineClosedError("embedding request cancelled")
            rows[group] = self.context.decode([tokens[i] for i in group])
        return Embeddings(normalize(rows), total)

    def _tokens(self, item: Input, index: int, truncate: bool) -> list[int]:
        n_ctx, where = self.n_ctx, f"input[{index}]"
        if isinstance(item, str):
            most = (n_ctx + 1) * max(1, self.runtime.longest_token_bytes)  # characters that can fit
            if len(item) > most and truncate:
                item = item[:most]
            elif len(item) > most:
                raise self._too_long(where, f"{len(item)} characters")
            tokens = self.runtime.tokenize(item, add_bos=True, special=False)  # BOS/EOS as the model says
        else:
            tokens = list(item)
            bad = next((t for t in tokens if not 0 <= t < self.runtime.n_vocab), None)
            if bad is not None:
                raise InvalidRequestError(
                    f"{where}: token {bad} is not in the vocabulary (0..{self.runtime.n_vocab - 1})",
                    param="input",
                    code="invalid_token",
                )
        if not tokens:
            raise InvalidRequestError(f"{where} is empty", param="input", code="empty_input")
        if len(tokens) > n_ctx:
            if not truncate:
                raise self._too_long(where, f"{len(tokens)} tokens")
            tokens = tokens[:n_ctx]
        return tokens

    def _too_long(self, where: str, size: str) -> InvalidRequestError:
        return InvalidRequestError(
            f"{where} has {size}; this node's embedding context holds {self.n_ctx} tokens per input",
            param="input",
            code="context_length_exceeded",
        )

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.context.close()
