"""Loads a GGUF model and creates the multi-sequence llama.cpp context the scheduler decodes in.

The context holds ``n_parallel`` sequences, each with its own ``n_ctx`` cells (``kv_unified`` off),
exactly as ``llama-server -np N`` lays them out: a request that fits ``n_ctx`` always fits its slot, and
the decode step is the same as llama-server's. A prefix held by another slot is reused by copying that
slot's cells (``seq_copy``: llama.cpp copies the whole stream at the next decode, as llama-server's
``copy_state_to`` does) and dropping what follows the prefix. With a sliding-window (SWA) cache
(Gemma 3) a slot may have dropped its oldest positions; a prefix is kept only while the window of
positions before its end is still held, else its tokens are evaluated again.

Between two ``llama_decode`` calls the decode thread avoids GIL-releasing calls (see ``gil_calls``):
token texts and end-of-generation flags come from tables filled on first use, greedy picks read the
logits directly, and sampling without a grammar keeps the GIL.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
import numpy as np
import numpy.typing as npt
from llama_cpp import _internals

from llamanet.engine import backends, llama_log
from llamanet.engine.errors import InvalidRequestError, ModelLoadError
from llamanet.engine.gil_calls import held
from llamanet.engine.sampler import Greedy, SamplerChain
from llamanet.engine.step_plan import CPU_STEP_TOKENS

log = logging.getLogger(__name__)
_backend_ready = False


@dataclass(frozen=True)
class RuntimeConfig:
    n_ctx: int = 2048
    n_batch: int = 512
    n_parallel: int = 4
    n_threads: int = 2
    n_gpu_layers: int = 0
    prefix_cache: bool = True  # reuse cached prompt prefixes (a slot's own, or copied from another)
    step_tokens: int = 0  # most tokens a decode step holds (step_plan); 0: 128 on a CPU, n_batch on a GPU


class Runtime:
    """Owns the llama.cpp model, context and batch; used only from the decode thread after start."""

    def __init__(self, path: Path, config: RuntimeConfig) -> None:
        global _backend_ready
        if not _backend_ready:
            llama_cpp.llama_backend_init()
            llama_log.install()  # after backend init, which resets llama.cpp's logger
            _backend_ready = True
        self.config = config
        self.compute = backends.detect(config.n_gpu_layers)  # GPU layers only where a GPU serves
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = 999 if self.compute.gpu_layers < 0 else self.compute.gpu_layers
        try:
            self.model = _internals.LlamaModel(path_model=str(path), params=mparams, verbose=False)
        except ValueError as exc:
            raise ModelLoadError(f"llama.cpp could not load {path}: {exc}") from exc
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = config.n_ctx * config.n_parallel
        cparams.n_batch = config.n_batch
        cparams.n_ubatch = config.n_batch
        cparams.n_seq_max = config.n_parallel
        cparams.n_threads = config.n_threads
        cparams.n_threads_batch = config.n_threads
        cparams.kv_unified = False
        try:
            self.context = _internals.LlamaContext(model=self.model, params=cparams, verbose=False)
        except ValueError as exc:
            raise ModelLoadError(f"llama.cpp could not create a context for {path}: {exc}") from exc
        self.ctx = self.context.ctx
        self.vocab = self.model.vocab
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_vocab = self.model.n_vocab()
        self.n_ctx_slot = int(llama_cpp.llama_n_ctx_seq(self.ctx))
        self.n_swa = max(0, int(llama_cpp.llama_model_n_swa(self.model.model)))  # 0: no sliding window
        self.batch = llama_cpp.llama_batch_init(config.n_batch, 0, 1)
        on_gpu = self.compute.gpu_layers != 0
        self.step_tokens = config.step_tokens or (config.n_batch if on_gpu else CPU_STEP_TOKENS)
        self._piece = ctypes.create_string_buffer(256)
        self._row_type = ctypes.POINTER(ctypes.c_float * self.n_vocab)
        self._pieces: dict[int, bytes] = {}
        self._ends: dict[int, bool] = {}
        self.longest_token_bytes = self._longest_token_bytes()

    def _longest_token_bytes(self) -> int:
        """Bytes of the vocabulary's longest token (special tokens as text): a prompt of B bytes has at
        least B / this many tokens, which bounds a prompt's length before it is tokenized."""
        buf = ctypes.create_string_buffer(256)
        longest = 1
        for token in range(self.n_vocab):
            n = held.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, True)
            longest = max(longest, abs(n))
        return longest

    # --- tokens ----------------------------------------------------------------------------------
    def tokenize(self, text: str, add_bos: bool, special: bool = True) -> list[int]:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate ("\\ud800" in the JSON) has no UTF-8 form
            raise InvalidRequestError(
                f"the prompt is not valid Unicode text: {exc.reason} at character {exc.start}",
                param="prompt",
                code="invalid_text",
            ) from exc
        room = len(data) + 8  # about one token per byte at most, plus BOS, EOS and a dummy prefix
        while True:
            tokens = (llama_cpp.llama_token * room)()
            n = held.llama_tokenize(self.vocab, data, len(data), tokens, room, add_bos, special)
            if n >= 0:
                return tokens[:n]
            if -n <= room:
                raise ValueError(f"llama.cpp could not tokenize {len(data)} bytes ({n})")
            room = -n  # llama.cpp says how many tokens it needs

    def piece(self, token: int) -> bytes:
        """The token's text as bytes (possibly part of a UTF-8 sequence); remembered after first use."""
        piece = self._pieces.get(token)
        if piece is None:
            n = llama_cpp.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
            piece = self._pieces[token] = self._piece.raw[:n] if n > 0 else b""
        return piece

    def token_text(self, token: int) -> str:
        return self.piece(token).decode("utf-8", errors="replace")

    def special_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.model.token_to_piece(token, special=True).rstrip(b"\0").decode("utf-8", errors="replace")

    def ends_generation(self, token: int) -> bool:
        """End-of-generation tokens, and control tokens (``<|im_start|>``...): text never contains them."""
        ends = self._ends.get(token)
        if ends is None:
            ends = self._ends[token] = bool(llama_cpp.llama_vocab_is_eog(self.vocab, token)) or bool(
                llama_cpp.llama_vocab_is_control(self.vocab, token)
            )
        return ends

    @property
    def add_bos(self) -> bool:
        return bool(self.model.add_bos_token())

    # --- decoding --------------------------------------------------------------------------------
    def batch_set(self, i: int, token: int, pos: int, seq: int, logits: bool) -> None:
        b = self.batch
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq
        b.logits[i] = logits

    def decode(self, n_tokens: int) -> int:
        self.batch.n_tokens = n_tokens
        return int(llama_cpp.llama_decode(self.ctx, self.batch))

    def sample(self, chain: SamplerChain, i: int, *, hold_gil: bool) -> int:
        """Sample the token for batch row ``i``; ``hold_gil`` for chains known to be quick."""
        if hold_gil:
            return int(held.llama_sampler_sample(chain.sampler, self.ctx, i))
        return int(llama_cpp.llama_sampler_sample(chain.sampler, self.ctx, i))

    def pick_greedy(self, i: int, bias: Greedy) -> int:
        """The highest-logit token of batch row ``i`` after ``bias``: what a bias+greedy chain picks.

        Ties go to the lowest token id, as in llama.cpp's greedy sampler; the bias is added in float32,
        as its logit-bias sampler does. The biased entries are changed in place and put back, which
        saves copying the whole row.
        """
        row = self._logits(i)
        if not bias.tokens.size:
            return int(row.argmax())
        saved = row[bias.tokens]
        row[bias.tokens] = saved + bias.values
        try:
            return int(row.argmax())
        finally:
            row[bias.tokens] = saved

    def logits_row(self, i: int) -> npt.NDArray[np.float32]:
        return self._logits(i).copy()

    def _logits(self, i: int) -> npt.NDArray[np.float32]:
        """A view (no copy) of batch row ``i``'s logits, valid until the next decode."""
        row = ctypes.cast(held.llama_get_logits_ith(self.ctx, i), self._row_type).contents
        return np.ctypeslib.as_array(row)

    def seq_trim(self, seq: int, keep: int) -> bool:
        """Drop a sequence's cells from position ``keep`` on; False (and the sequence emptied) when the
        first ``keep`` positions cannot be reused."""
        mem = self.memory
        ok = bool(held.llama_memory_seq_rm(mem, seq, keep, -1)) and self._holds_prefix(seq, keep)
        if not ok:
            held.llama_memory_seq_rm(mem, seq, -1, -1)
        return ok

    def seq_copy(self, src: int, dst: int, keep: int) -> bool:
        """Make ``dst`` hold ``src``'s first ``keep`` positions; False (``dst`` untouched) if ``src`` no
        longer holds what they need. llama.cpp copies the stream's KV data at the next decode, before
        that decode writes anything, so ``src`` may go on generating."""
        if not self._holds_prefix(src, keep):
            return False
        held.llama_memory_seq_rm(self.memory, dst, -1, -1)
        held.llama_memory_seq_cp(self.memory, src, dst, -1, -1)  # whole stream: metadata now, data later
        return self.seq_trim(dst, keep)

    def _holds_prefix(self, seq: int, keep: int) -> bool:
        """Whether decoding can go on from position ``keep`` of ``seq``: every layer holds the positions
        the next token attends to. Full-attention layers keep all; SWA layers keep a contiguous range
        from ``llama_memory_seq_pos_min`` and need the window before ``keep`` (llama-server's rule)."""
        if keep <= 0:
            return True
        pos_min = int(held.llama_memory_seq_pos_min(self.memory, seq))
        pos_max = int(held.llama_memory_seq_pos_max(self.memory, seq))
        return 0 <= pos_min <= max(0, keep - self.n_swa) and pos_max >= keep - 1

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self.memory, True)

    def close(self) -> None:
        llama_cpp.llama_batch_free(self.batch)
        self.context.close()
        self.model.close()
