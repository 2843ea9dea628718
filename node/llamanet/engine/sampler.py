"""Builds a llama.cpp sampler chain for one request's sampling parameters, or a greedy fast path.

Greedy decoding with at most a logit bias needs no chain: the scheduler takes the argmax of the
biased logits itself (``GreedyBias``), the same token for a fraction of the cost, since the chain
first copies all ``n_vocab`` logits into candidates for every token.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import llama_cpp
import numpy as np
import numpy.typing as npt
from llama_cpp import _internals

from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.params import SamplingParams


@dataclass(frozen=True)
class GreedyBias:
    """The logit bias of a greedy request, as arrays for adding to a logits row."""

    tokens: npt.NDArray[np.intp]
    values: npt.NDArray[np.float32]


def greedy_bias(p: SamplingParams, grammar: str | None) -> GreedyBias | None:
    """A ``GreedyBias`` when the request's token is just the argmax of its biased logits, else None.

    Penalties depend on the history and a grammar on the parser state, so those keep the chain.
    """
    if not p.greedy or p.penalized or grammar is not None:
        return None
    tokens = np.fromiter(p.logit_bias.keys(), dtype=np.intp, count=len(p.logit_bias))
    values = np.fromiter(p.logit_bias.values(), dtype=np.float32, count=len(p.logit_bias))
    return GreedyBias(tokens, values)


def build_sampler(
    vocab: llama_cpp.llama_vocab_p, n_vocab: int, p: SamplingParams, grammar: str | None
) -> _internals.LlamaSampler:
    """Chain order as in llama.cpp's common sampler: grammar, bias, penalties, truncation, temp, draw."""
    chain = _internals.LlamaSampler()
    try:
        if grammar is not None:
            g = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
            if not g:
                raise InvalidRequestError("the grammar could not be parsed", param="response_format")
            llama_cpp.llama_sampler_chain_add(chain.sampler, g)
        if p.logit_bias:
            chain.add_logit_bias(n_vocab, p.logit_bias)
        if p.penalized:
            chain.add_penalties(
                n_vocab, p.penalty_last_n, p.repeat_penalty, p.frequency_penalty, p.presence_penalty
            )
        if p.greedy:
            chain.add_greedy()
            return chain
        if p.top_k > 0:
            chain.add_top_k(p.top_k)
        if p.top_p < 1.0:
            chain.add_top_p(p.top_p, 1)
        if p.min_p > 0.0:
            chain.add_min_p(p.min_p, 1)
        chain.add_temp(p.temperature)
        seed = p.seed if p.seed is not None else random.SystemRandom().randrange(2**32 - 1)
        chain.add_dist(seed & 0xFFFFFFFF)
    except BaseException:
        chain.close()
        raise
    return chain
