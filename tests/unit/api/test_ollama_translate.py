"""The pure Ollama translation: what is honoured, hinted or refused, and the answer shapes."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from llamanet.api.ollama_schemas import OllamaChatRequest, OllamaGenerateRequest, OllamaShowRequest
from llamanet.api.ollama_shapes import (
    chunk,
    final,
    loaded,
    ndjson,
    ndjson_template,
    show_body,
    tag_entry,
    timestamp,
)
from llamanet.api.ollama_translate import (
    chat_messages,
    check_chat,
    check_generate,
    engine_request,
    generate_messages,
    grammar_of,
    is_load_only,
)
from llamanet.api.streaming import HOLE
from llamanet.engine.engine import ModelInfo
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.events import Finished, TokenLogprob

MSG = [{"role": "user", "content": "hi"}]


def chat(**fields: Any) -> OllamaChatRequest:
    return OllamaChatRequest.model_validate({"model": "m", "messages": MSG, **fields})


def generate(**fields: Any) -> OllamaGenerateRequest:
    return OllamaGenerateRequest.model_validate({"model": "m", "prompt": "hi", **fields})


def request_of(body: OllamaChatRequest | OllamaGenerateRequest, tokens: int = 10) -> Any:
    return engine_request(list(range(tokens)), body, n_vocab=1000, n_ctx=100, default_max_tokens=16)


def test_streams_by_default_and_latest_is_the_plain_name() -> None:
    assert chat().stream is True and chat(stream=False).stream is False
    assert chat(model="smol:latest").model == "smol" and chat(model="qwen:0.5b").model == "qwen:0.5b"
    assert OllamaShowRequest.model_validate({"name": "smol:latest"}).target() == "smol"


def test_options_reach_the_engine() -> None:
    opts = {
        "temperature": 0,
        "top_k": 5,
        "top_p": 0.5,
        "min_p": 0.1,
        "repeat_penalty": 1.3,
        "seed": 7,
        "stop": ["\n"],
        "num_predict": 9,
        "repeat_last_n": 32,
    }
    req = request_of(chat(options=opts))
    s = req.sampling
    assert (s.temperature, s.top_k, s.top_p, s.min_p, s.repeat_penalty, s.seed) == (0, 5, 0.5, 0.1, 1.3, 7)
    assert s.penalty_last_n == 32 and req.max_tokens == 9 and req.stop == ("\n",)


def test_num_predict_limits() -> None:
    assert request_of(chat()).max_tokens == 16  # the node's default
    assert request_of(chat(options={"num_predict": -1}), tokens=30).max_tokens == 70  # up to the context
    assert request_of(chat(options={"num_predict": -2}), tokens=30).max_tokens == 70
    assert request_of(chat(options={"repeat_last_n": -1})).sampling.penalty_last_n == 100
    with pytest.raises(InvalidRequestError, match="num_predict"):
        check_chat(chat(options={"num_predict": 0}))
    with pytest.raises(ValidationError):
        chat(options={"num_predict": -3})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("options", {"mirostat": 1}),
        ("options", {"tfs_z": 0.5}),
        ("options", {"typical_p": 0.9}),
        ("think", True),
        ("think", "high"),
        ("tools", [{"type": "function", "function": {"name": "f"}}]),
        ("messages", [{"role": "user", "content": "hi", "images": ["aGk="]}]),
        ("messages", [{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}]),
    ],
)
def test_chat_refuses_what_it_does_not_honour(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="not supported"):
        check_chat(chat(**{field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [("suffix", "end"), ("template", "{{ .Prompt }}"), ("context", [1, 2]), ("images", ["aGk="])],
)
def test_generate_refuses_what_it_does_not_honour(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="not supported"):
        check_generate(generate(**{field: value}))


def test_hints_are_accepted() -> None:
    hints = {"num_ctx": 8192, "num_gpu": 99, "num_thread": 4, "num_keep": 5, "mirostat": 0}
    hints |= {"typical_p": 1.0, "tfs_z": 1.0, "mirostat_tau": 5.0, "penalize_newline": True, "unknown": 1}
    check_chat(chat(options=hints, keep_alive="5m", think=False))
    check_generate(generate(options=hints, keep_alive=-1, suffix="", context=[]))


def test_messages_and_system() -> None:
    assert chat_messages(chat(messages=[{"role": "assistant"}])) == [{"role": "assistant", "content": ""}]
    assert generate_messages(generate(system="be brief")) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert generate_messages(generate()) == MSG
    assert is_load_only(chat(messages=[])) and is_load_only(generate(prompt=""))
    assert not is_load_only(chat()) and not is_load_only(generate())


def test_format_is_a_grammar() -> None:
    assert grammar_of(None) is None and grammar_of("") is None
    assert "root" in (grammar_of("json") or "")
    assert "root" in (grammar_of({"type": "object", "properties": {"a": {"type": "string"}}}) or "")
    with pytest.raises(ValidationError):
        chat(format="yaml")
    assert request_of(chat(format="json")).grammar is not None


def test_logprobs_requested() -> None:
    assert request_of(chat()).logprobs is None
    assert request_of(chat(logprobs=True)).logprobs == 0
    assert request_of(chat(logprobs=True, top_logprobs=3)).logprobs == 3


FIN = Finished("length", prompt_tokens=12, completion_tokens=5, cached_tokens=0, time_to_first_token=0.5,
               generation_time=2.0)  # fmt: skip


def test_answer_shapes() -> None:
    at = timestamp(0)
    assert at == "1970-01-01T00:00:00Z"
    assert chunk("chat", "m", at, "Hi") == {
        "model": "m",
        "created_at": at,
        "message": {"role": "assistant", "content": "Hi"},
        "done": False,
    }
    assert chunk("generate", "m", at, "Hi")["response"] == "Hi"
    done = final("generate", "m", at, FIN, "tail")
    assert done["done"] is True and done["done_reason"] == "length" and done["response"] == "tail"
    assert (done["prompt_eval_count"], done["eval_count"]) == (12, 5)
    assert (done["total_duration"], done["prompt_eval_duration"], done["eval_duration"]) == (
        2_000_000_000,
        500_000_000,
        1_500_000_000,
    )
    lp = final("chat", "m", at, FIN, "x", [TokenLogprob("x", -0.5, [("y", -1.0)])])["logprobs"]
    assert lp == [{"token": "x", "logprob": -0.5, "top_logprobs": [{"token": "y", "logprob": -1.0}]}]
    assert loaded("chat", "m", at)["done_reason"] == "load"


def test_ndjson_lines_and_template() -> None:
    line = ndjson({"a": "é"})
    assert line == '{"a":"é"}\n'.encode() and json.loads(line) == {"a": "é"}
    render = ndjson_template(chunk("chat", "m", "t", HOLE))
    for text in ['he said "hi"\n', "\\", "ünï"]:
        assert render(text) == ndjson(chunk("chat", "m", "t", text))
    with pytest.raises(ValueError):
        ndjson_template({"a": "no hole"})


def test_model_listings() -> None:
    info = ModelInfo("m", Path("/models/m.gguf"), "llama", 1234, 8192, 512, 2, "chatml", 0)
    entry = tag_entry("m", "t", info)
    assert entry["size"] == 1234 and entry["details"]["family"] == "llama"
    remote = tag_entry("other", "t", None)
    assert "size" not in remote and remote["details"]["format"] == "gguf"
    shown = show_body("m", info, "{{ messages }}", "t")
    assert shown["model_info"] == {
        "general.architecture": "llama",
        "general.name": "m",
        "llama.context_length": 8192,
    }
    assert shown["template"] == "{{ messages }}" and shown["capabilities"] == ["completion"]
    assert show_body("m", info, "", "t", embedding=True)["capabilities"] == ["completion", "embedding"]
