import math

import numpy as np

from llamanet.engine.logprobs import log_softmax, token_logprobs


def test_log_softmax_normalizes() -> None:
    lp = log_softmax(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    assert math.isclose(float(np.exp(lp).sum()), 1.0, rel_tol=1e-5)


def test_top_alternatives_sorted_and_chosen_reported() -> None:
    logits = np.array([0.0, 5.0, 1.0, 3.0], dtype=np.float32)
    chosen, top = token_logprobs(logits, 2, 2)
    assert [t for t, _ in top] == [1, 3]
    assert top[0][1] > top[1][1] > chosen
    assert token_logprobs(logits, 1, 0)[1] == []
