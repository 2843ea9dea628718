"""tests/randmodel.py: the random-weight models the GPU check generates (scripts/gpu-check.sh) load in
llama.cpp, tokenize exactly as the model their tokenizer came from, and generate; the header is small."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamanet.engine.runtime import Runtime, RuntimeConfig
from llamanet.models.cache import ModelCache
from llamanet.models.gguf import read_gguf
from tests.integration.conftest import SMOL
from tests.randmodel import SHAPES, _vocabulary, tokenizer_header, unsampled_tokens, write_random_llama

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def header(model_cache: ModelCache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, _ = model_cache.resolve(SMOL)
    return tokenizer_header(path, tmp_path_factory.mktemp("rand") / "tokenizer.gguf")


def test_the_header_is_small_and_only_the_tokenizer(header: Path) -> None:
    info = read_gguf(header)
    assert info.n_tensors == 0
    assert {k.split(".")[0] for k in info.metadata} == {"tokenizer"}
    assert info.metadata["tokenizer.ggml.pre"] == "smollm"
    assert header.stat().st_size < 3 * 2**20  # travels in the GPU check's 64 MiB upload


@pytest.mark.parametrize("shape", ["tiny", "smollm2-135m"])
def test_a_random_model_loads_tokenizes_like_the_real_one_and_generates(
    shape: str, header: Path, model_cache: ModelCache, tmp_path: Path
) -> None:
    model = write_random_llama(header, shape, tmp_path / f"{shape}.gguf")
    info = read_gguf(model)  # every tensor's data inside the file
    s = SHAPES[shape]
    assert info.architecture == "llama"
    assert info.metadata["llama.block_count"] == s.n_layer
    assert info.n_tensors == 2 + 9 * s.n_layer
    real_path, _ = model_cache.resolve(SMOL)
    text = "The printing press changed Europe: 1450, Gutenberg, <|im_start|>user"
    real = Runtime(real_path, RuntimeConfig(n_ctx=128, n_parallel=1, n_threads=2))
    try:
        want = real.tokenize(text, add_bos=real.add_bos)
    finally:
        real.close()
    rt = Runtime(model, RuntimeConfig(n_ctx=128, n_parallel=1, n_threads=2))
    try:
        tokens = rt.tokenize(text, add_bos=rt.add_bos)
        assert tokens == want
        for i, tok in enumerate(tokens):
            rt.batch_set(i, tok, i, 0, i == len(tokens) - 1)
        assert rt.decode(len(tokens)) == 0
    finally:
        rt.close()


def test_control_and_partial_utf8_tokens_are_never_picked(header: Path, tmp_path: Path) -> None:
    from llama_cpp import Llama

    tokens, types, model = _vocabulary(header)
    never = set(unsampled_tokens(tokens, types, model))
    assert {0, 1, 2} <= never  # <|endoftext|>, <|im_start|>, <|im_end|>
    assert tokens.index("\u0120the") not in never and len(never) < 1000
    llm = Llama(
        str(write_random_llama(header, "smollm2-135m", tmp_path / "m.gguf")), n_ctx=128, verbose=False
    )
    out = llm.create_completion("Hello", max_tokens=24, temperature=0, logit_bias={0: -100.0, 2: -100.0})
    text = out["choices"][0]["text"]
    assert out["usage"]["completion_tokens"] == 24 and text.strip() and "\ufffd" not in text
