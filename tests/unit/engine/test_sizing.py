from pathlib import Path

from llamanet.engine.sizing import MAX_DEFAULT_SLOTS, choose_sizing, kv_bytes_per_token
from llamanet.models.gguf import GGUFInfo


def info(**meta: object) -> GGUFInfo:
    return GGUFInfo(
        path=Path("m.gguf"), version=3, n_tensors=1, metadata={"general.architecture": "llama", **meta}
    )


SMOL = info(
    **{
        "llama.block_count": 30,
        "llama.embedding_length": 576,
        "llama.attention.head_count": 9,
        "llama.attention.head_count_kv": 3,
        "llama.context_length": 8192,
    }
)


def test_kv_bytes_per_token_from_shape() -> None:
    assert kv_bytes_per_token(SMOL) == 30 * 3 * (64 + 64) * 2
    gemma = GGUFInfo(
        path=Path("g"),
        version=3,
        n_tensors=1,
        metadata={
            "general.architecture": "gemma3",
            "gemma3.block_count": 18,
            "gemma3.attention.head_count": 4,
            "gemma3.attention.head_count_kv": 1,
            "gemma3.attention.key_length": 256,
            "gemma3.attention.value_length": 256,
            "gemma3.embedding_length": 640,
        },
    )
    assert kv_bytes_per_token(gemma) == 18 * 1 * 512 * 2
    assert kv_bytes_per_token(info()) is None
    assert kv_bytes_per_token(info(**{"llama.block_count": 2, "llama.attention.head_count": [1]})) is None


def test_slots_fit_memory() -> None:
    per_slot = 30 * 3 * 128 * 2 * 2048
    assert choose_sizing(SMOL, 2048, None, 64 * 2**30).n_parallel == MAX_DEFAULT_SLOTS
    assert choose_sizing(SMOL, 2048, None, per_slot * 4 * 3).n_parallel == 3
    assert choose_sizing(SMOL, 2048, None, 1).n_parallel == 1
    assert choose_sizing(SMOL, 2048, 5, 1).n_parallel == 5
    assert choose_sizing(SMOL, 2048, None, None).n_parallel == 4


def test_context_capped_by_training() -> None:
    assert choose_sizing(SMOL, 16384, 2, None).n_ctx == 8192
    assert choose_sizing(info(), 16384, 2, None).n_ctx == 16384
