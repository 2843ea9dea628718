"""Builds a llama.cpp sampler chain for one request's sampling parameters."""

from __future__ import annotations

import random

import llama_cpp
from llama_cpp import _internals

from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.params import SamplingParams


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
