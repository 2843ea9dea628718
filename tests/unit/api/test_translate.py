import pytest
from pydantic import ValidationError

from llamanet.api.schemas import ChatCompletionRequest, CompletionRequest, GenerateRequest, ResponseFormat
from llamanet.api.translate import grammar_from, resolve_max_tokens, sampling_from, stop_strings
from llamanet.engine.errors import InvalidRequestError


def test_temperature_zero_stays_greedy() -> None:
    p = sampling_from(GenerateRequest(prompt="x", temperature=0), n_vocab=100)
    assert p.temperature == 0 and p.greedy


def test_defaults_and_seed_wraps() -> None:
    p = sampling_from(GenerateRequest(prompt="x", seed=-1), n_vocab=100)
    assert p.temperature == 0.8 and p.top_k == 40 and p.seed == 2**32 - 1


def test_logit_bias_checked_against_vocab() -> None:
    body = GenerateRequest(prompt="x", logit_bias={"5": 10.0})
    assert sampling_from(body, 100).logit_bias == {5: 10.0}
    with pytest.raises(InvalidRequestError, match="outside the vocabulary"):
        sampling_from(GenerateRequest(prompt="x", logit_bias={"500": 1.0}), 100)


def test_stop_strings_merge_without_duplicates() -> None:
    assert stop_strings(GenerateRequest(prompt="x", stop="a"), ("b", "a")) == ("a", "b")
    assert stop_strings(GenerateRequest(prompt="x", stop=["c"])) == ("c",)


def test_grammar_from_formats() -> None:
    assert grammar_from(None) is None
    assert grammar_from(ResponseFormat(type="text")) is None
    assert "root" in (grammar_from(ResponseFormat(type="json_object")) or "")
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    g = grammar_from(
        ResponseFormat.model_validate({"type": "json_schema", "json_schema": {"schema": schema}})
    )
    assert g is not None and "root" in g
    with pytest.raises(InvalidRequestError):
        grammar_from(ResponseFormat(type="json_schema"))


def test_max_tokens_resolution() -> None:
    assert resolve_max_tokens(None, 100, 2048, 512) == 512
    assert resolve_max_tokens(None, 2000, 2048, 512) == 48
    assert resolve_max_tokens(5000, 10, 2048, 512) == 5000  # the engine rejects it with a clear error


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"messages": [{"role": "user", "content": "x"}], "temperature": 3},
        {"messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
        {"messages": [{"role": "user", "content": "x"}], "max_tokens": -5},
        {"messages": [{"role": "user", "content": "x"}], "top_p": 1.5},
        {"messages": [{"role": "user", "content": "x"}], "n": 2},
        {"messages": [{"role": "user", "content": "x"}], "stop": ["s"] * 17},
        {"messages": "hello"},
    ],
)
def test_chat_bodies_rejected(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate(body)


def test_completion_prompt_limits() -> None:
    with pytest.raises(ValidationError):
        CompletionRequest.model_validate({"prompt": []})
    with pytest.raises(ValidationError):
        CompletionRequest.model_validate({"prompt": [""]})
    assert CompletionRequest.model_validate({"prompt": ["a", "b"]}).max_tokens == 16


def test_logit_bias_keys_must_be_ascii_token_ids() -> None:
    for key in ("²", "٣", "-1", "1.5", "x"):
        with pytest.raises(ValidationError, match="token ids"):
            CompletionRequest(prompt="x", logit_bias={key: 1.0})
    assert CompletionRequest(prompt="x", logit_bias={"42": 1.0}).logit_bias == {"42": 1.0}
