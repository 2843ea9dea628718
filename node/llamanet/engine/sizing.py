"""Default slot count and context size, from the model's shape and the memory the machine has."""

from __future__ import annotations

from dataclasses import dataclass

from llamanet.models.gguf import GGUFInfo

F16_BYTES = 2
MAX_DEFAULT_SLOTS = 8  # beyond this, CPU decoding gains little and per-token latency suffers
KV_MEMORY_FRACTION = 0.25  # of available memory, for the KV cache of all slots together


def kv_bytes_per_token(gguf: GGUFInfo) -> int | None:
    """KV cache bytes one token costs (f16 K and V over every layer); None if the GGUF does not say."""
    m, arch = gguf.metadata, gguf.architecture
    n_layer = m.get(f"{arch}.block_count")
    n_head = m.get(f"{arch}.attention.head_count")
    n_head_kv = m.get(f"{arch}.attention.head_count_kv", n_head)
    embd = m.get(f"{arch}.embedding_length")
    if not all(isinstance(v, int) and v > 0 for v in (n_layer, n_head, n_head_kv)):
        return None  # per-layer head counts (arrays) or missing keys: no estimate
    assert isinstance(n_layer, int) and isinstance(n_head, int) and isinstance(n_head_kv, int)
    head = embd // n_head if isinstance(embd, int) else None
    k_len = m.get(f"{arch}.attention.key_length", head)
    v_len = m.get(f"{arch}.attention.value_length", head)
    if not (isinstance(k_len, int) and isinstance(v_len, int)):
        return None
    return n_layer * n_head_kv * (k_len + v_len) * F16_BYTES


@dataclass(frozen=True)
class Sizing:
    n_ctx: int
    n_parallel: int
    reason: str


def choose_sizing(gguf: GGUFInfo, n_ctx: int, n_parallel: int | None, available_bytes: int | None) -> Sizing:
    """``n_ctx`` is capped by what the model was trained for; with no ``n_parallel`` given, as many
    slots as fit a quarter of the available memory, at most ``MAX_DEFAULT_SLOTS``."""
    trained = gguf.context_length
    ctx = min(n_ctx, trained) if trained else n_ctx
    if n_parallel is not None:
        return Sizing(ctx, n_parallel, "set")
    per_token = kv_bytes_per_token(gguf)
    if per_token is None or available_bytes is None:
        return Sizing(ctx, 4, "default (model shape or memory unknown)")
    per_slot = per_token * ctx
    fits = int(available_bytes * KV_MEMORY_FRACTION // per_slot)
    slots = max(1, min(MAX_DEFAULT_SLOTS, fits))
    return Sizing(ctx, slots, f"{slots} x {per_slot / 2**20:.0f} MiB KV fit in 1/4 of available memory")
