"""The runtime's own fast paths agree with llama.cpp and llama-cpp-python: the greedy pick with the
bias+greedy chain, tokenizing through the GIL-holding binding with ``LlamaModel.tokenize``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llamanet.engine.params import SamplingParams
from llamanet.engine.runtime import Runtime, RuntimeConfig
from llamanet.engine.sampler import build_chain, greedy
from llamanet.models.cache import ModelCache
from tests.integration.conftest import SMOL

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def runtime(model_cache: ModelCache) -> Iterator[Runtime]:
    path, _ = model_cache.resolve(SMOL)
    rt = Runtime(path, RuntimeConfig(n_ctx=256, n_parallel=2, n_threads=2))
    yield rt
    rt.close()


def decode_prompt(rt: Runtime, text: str, seq: int) -> int:
    """Decode ``text`` into sequence ``seq`` from position 0; returns the batch row holding the logits."""
    rt.seq_trim(seq, 0)
    tokens = rt.tokenize(text, add_bos=rt.add_bos)
    for i, tok in enumerate(tokens):
        rt.batch_set(i, tok, i, seq, i == len(tokens) - 1)
    assert rt.decode(len(tokens)) == 0
    return len(tokens) - 1


@pytest.mark.parametrize(
    "prompt", ["The capital of France is", "1, 2, 3, 4,", "Once upon a time", "def main():"]
)
def test_greedy_pick_matches_the_chain_step_by_step(runtime: Runtime, prompt: str) -> None:
    row = decode_prompt(runtime, prompt, 0)
    unbiased = greedy(SamplingParams(temperature=0), None)
    assert unbiased is not None
    favourite = runtime.pick_greedy(row, unbiased)
    biases = [
        {},
        {favourite: -100.0},  # bans the unbiased favourite: the answer must change
        {favourite: -1e9, 13: 5.0, 28: 3.5},
    ]
    for logit_bias in biases:
        params = SamplingParams(temperature=0, logit_bias=logit_bias)
        bias = greedy(params, None)
        assert bias is not None
        chain = build_chain(runtime.vocab, runtime.n_vocab, params, None)
        try:
            expected = runtime.sample(chain, row, hold_gil=True)
        finally:
            chain.close()
        assert runtime.pick_greedy(row, bias) == expected
    banned = greedy(SamplingParams(temperature=0, logit_bias={favourite: -100.0}), None)
    assert banned is not None and runtime.pick_greedy(row, banned) != favourite


def test_greedy_pick_matches_the_chain_over_a_generation(runtime: Runtime) -> None:
    """Twenty tokens decoded one by one: at every step the fast path and the chain agree."""
    params = SamplingParams(temperature=0, logit_bias={2: -100.0})
    bias = greedy(params, None)
    assert bias is not None
    row = decode_prompt(runtime, "Write a haiku about the sea.", 1)
    pos = len(runtime.tokenize("Write a haiku about the sea.", add_bos=runtime.add_bos))
    picked = []
    for _ in range(20):
        chain = build_chain(runtime.vocab, runtime.n_vocab, params, None)
        try:
            expected = runtime.sample(chain, row, hold_gil=False)
        finally:
            chain.close()
        token = runtime.pick_greedy(row, bias)
        assert token == expected
        picked.append(token)
        runtime.batch_set(0, token, pos, 1, True)
        assert runtime.decode(1) == 0
        row, pos = 0, pos + 1
    assert len(set(picked)) > 3  # a real continuation, not one token repeated


@pytest.mark.parametrize(
    "text",
    ["", "a", " ", "Hello world", "<|im_start|>user\nhi<|im_end|>", "日本語のテキスト", "🦙 \x00 x" * 300],
)
def test_tokenize_matches_llama_cpp_python(runtime: Runtime, text: str) -> None:
    for add_bos in (True, False):
        expected = runtime.model.tokenize(text.encode(), add_bos=add_bos, special=True)
        assert runtime.tokenize(text, add_bos=add_bos) == expected


def test_requests_the_fast_path_cannot_serve_keep_the_chain() -> None:
    assert greedy(SamplingParams(temperature=0.7), None) is None
    assert greedy(SamplingParams(temperature=0, repeat_penalty=1.3), None) is None
    assert greedy(SamplingParams(temperature=0, presence_penalty=0.5), None) is None
    assert greedy(SamplingParams(temperature=0), 'root ::= "a"') is None
    bias = greedy(SamplingParams(temperature=0, logit_bias={5: 2.0, 9: -1.0}), None)
    assert bias is not None
    assert dict(zip(bias.tokens.tolist(), bias.values.tolist(), strict=True)) == {5: 2.0, 9: -1.0}
