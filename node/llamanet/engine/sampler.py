"""How a request picks its tokens: a llama.cpp sampler chain, or the greedy fast path.

Greedy decoding with at most a logit bias needs no chain: the scheduler takes the argmax of the
biased logits itself (``Greedy``), the same token for a fraction of the cost, since a chain first
copies all ``n_vocab`` logits into candidates for every token. Chains are built and freed through
GIL-holding bindings (``gil_calls``), except for grammar parsing, which can take a while.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np
import numpy.typing as npt

from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.gil_calls import held
from llamanet.engine.params import SamplingParams


@dataclass(frozen=True)
class Greedy:
    """A greedy request's logit bias, as arrays for adding to a logits row."""

    tokens: npt.NDArray[np.intp]
    values: npt.NDArray[np.float32]

    def close(self) -> None:
        pass


class SamplerChain:
    """A llama.cpp sampler chain; ``close`` frees it (and the samplers added to it)."""

    def __init__(self) -> None:
        self.sampler: Any = held.llama_sampler_chain_init(held.llama_sampler_chain_default_params())

    def add(self, sampler: Any) -> None:
        if not sampler:
            raise InvalidRequestError("llama.cpp could not create a sampler for these parameters")
        held.llama_sampler_chain_add(self.sampler, sampler)

    def close(self) -> None:
        if self.sampler is not None:
            held.llama_sampler_free(self.sampler)
            self.sampler = None


Sampler = Greedy | SamplerChain


def greedy(p: SamplingParams, grammar: str | None) -> Greedy | None:
    """A ``Greedy`` when the request's token is just the argmax of its biased logits, else None.

    Penalties depend on the history and a grammar on the parser state, so those need a chain.
    """
    if not p.greedy or p.penalized or grammar is not None:
        return None
    tokens = np.fromiter(p.logit_bias.keys(), dtype=np.intp, count=len(p.logit_bias))
    values = np.fromiter(p.logit_bias.values(), dtype=np.float32, count=len(p.logit_bias))
    return Greedy(tokens, values)


def build_sampler(
    vocab: llama_cpp.llama_vocab_p, n_vocab: int, p: SamplingParams, grammar: str | None
) -> Sampler:
    return greedy(p, grammar) or build_chain(vocab, n_vocab, p, grammar)


def build_chain(
    vocab: llama_cpp.llama_vocab_p, n_vocab: int, p: SamplingParams, grammar: str | None
) -> SamplerChain:
    """Chain order as in llama.cpp's common sampler: grammar, bias, penalties, truncation, temp, draw."""
    chain = SamplerChain()
    try:
        if grammar is not None:
            g = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
            if not g:
                raise InvalidRequestError("the grammar could not be parsed", param="response_format")
            chain.add(g)
        if p.logit_bias:
            bias = (llama_cpp.llama_logit_bias * len(p.logit_bias))()
            for i, (token, value) in enumerate(p.logit_bias.items()):
                bias[i] = llama_cpp.llama_logit_bias(token, value)
            chain.add(held.llama_sampler_init_logit_bias(n_vocab, len(p.logit_bias), bias))
        if p.penalized:
            chain.add(
                held.llama_sampler_init_penalties(
                    n_vocab, p.penalty_last_n, p.repeat_penalty, p.frequency_penalty, p.presence_penalty
                )
            )
        if p.greedy:
            chain.add(held.llama_sampler_init_greedy())
            return chain
        if p.top_k > 0:
            chain.add(held.llama_sampler_init_top_k(p.top_k))
        if p.top_p < 1.0:
            chain.add(held.llama_sampler_init_top_p(p.top_p, 1))
        if p.min_p > 0.0:
            chain.add(held.llama_sampler_init_min_p(p.min_p, 1))
        chain.add(held.llama_sampler_init_temp(p.temperature))
        seed = p.seed if p.seed is not None else random.SystemRandom().randrange(2**32 - 1)
        chain.add(held.llama_sampler_init_dist(seed & 0xFFFFFFFF))
    except BaseException:
        chain.close()
        raise
    return chain
