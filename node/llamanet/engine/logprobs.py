"""Log-probabilities from a row of logits (numpy, only when a request asks for them)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def log_softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = logits - np.max(logits)
    result: npt.NDArray[np.float32] = shifted - np.log(np.sum(np.exp(shifted)))
    return result


def token_logprobs(
    logits: npt.NDArray[np.float32], chosen: int, n_top: int
) -> tuple[float, list[tuple[int, float]]]:
    """The chosen token's logprob and the ``n_top`` most likely tokens, best first."""
    lp = log_softmax(logits.astype(np.float32, copy=False))
    top: list[tuple[int, float]] = []
    if n_top > 0:
        n = min(n_top, lp.shape[0])
        idx = np.argpartition(-lp, n - 1)[:n]
        idx = idx[np.argsort(-lp[idx])]
        top = [(int(i), float(lp[i])) for i in idx]
    return float(lp[chosen]), top
