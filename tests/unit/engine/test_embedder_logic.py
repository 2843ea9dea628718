"""The embedder's pure decisions: packing inputs into decodes, the pooling type, normalisation."""

import llama_cpp
import numpy as np

from llamanet.engine.embedder import normalize, pack, pooling_for


def test_inputs_are_packed_in_order_within_the_context_and_the_sequence_count() -> None:
    assert pack([3, 3, 3], n_ctx=8, n_seq_max=16) == [[0, 1], [2]]
    assert pack([8, 1, 8], n_ctx=8, n_seq_max=16) == [[0], [1], [2]]
    assert pack([1] * 5, n_ctx=100, n_seq_max=2) == [[0, 1], [2, 3], [4]]
    assert pack([], n_ctx=8, n_seq_max=2) == []


def test_the_models_own_pooling_is_used_else_mean() -> None:
    assert pooling_for(None) == llama_cpp.LLAMA_POOLING_TYPE_MEAN  # decoder models declare none
    assert pooling_for("2") == llama_cpp.LLAMA_POOLING_TYPE_CLS
    assert pooling_for("3") == llama_cpp.LLAMA_POOLING_TYPE_LAST
    for odd in ("0", "4", "x"):  # none, rank (a reranker's head), garbage
        assert pooling_for(odd) == llama_cpp.LLAMA_POOLING_TYPE_MEAN


def test_rows_are_l2_normalised_and_a_zero_row_stays_zero() -> None:
    out = normalize(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    assert out.dtype == np.float32 and out.tolist() == [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
