"""The pure parts of the embedding routes: inputs, ``dimensions``, float/base64 encoding, answer shapes;
and the routes of a node without --embeddings, or still loading, without a model."""

import base64
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from llamanet.api.app import create_app
from llamanet.api.embeddings import (
    INPUT_SHAPES,
    MAX_INPUTS,
    EmbeddingRequest,
    OllamaEmbedRequest,
    check_dimensions,
    encode,
    ollama_answer,
    ollama_inputs,
    openai_answer,
    openai_inputs,
)
from llamanet.api.errors import ApiError
from llamanet.node import Node
from llamanet.settings import Settings


def inputs(value: Any) -> Any:
    return openai_inputs(EmbeddingRequest(model="m", input=value).input)


def test_the_four_input_shapes_become_lists_of_texts_or_token_arrays() -> None:
    assert inputs("a cat") == ["a cat"]
    assert inputs(["a", "b"]) == ["a", "b"]
    assert inputs([1, 2, 3]) == [[1, 2, 3]]
    assert inputs([[1, 2], [3]]) == [[1, 2], [3]]


@pytest.mark.parametrize("value", [[1, "a"], [True, 2], {"text": "x"}, 3, [["a"]], [1.5]])
def test_other_inputs_are_refused_with_the_shapes_named(value: Any) -> None:
    with pytest.raises(ValidationError, match=INPUT_SHAPES):
        EmbeddingRequest(model="m", input=value)


@pytest.mark.parametrize(
    ("value", "code"),
    [([], "empty_input"), ([""], "empty_input"), ("", "empty_input"), ([[1], []], "empty_input"),
     (["x"] * (MAX_INPUTS + 1), "too_many_inputs")],
)  # fmt: skip
def test_empty_inputs_and_too_many_are_400s(value: Any, code: str) -> None:
    with pytest.raises(ApiError) as err:
        inputs(value)
    assert err.value.status == 400 and err.value.code == code and err.value.param == "input"


def test_dimensions_is_accepted_only_as_the_models_own_size() -> None:
    check_dimensions(None, 576)
    check_dimensions(576, 576)
    with pytest.raises(ApiError, match="have 576 dimensions") as err:
        check_dimensions(256, 576)
    assert err.value.status == 400 and err.value.param == "dimensions"
    with pytest.raises(ValidationError):
        EmbeddingRequest(model="m", input="x", dimensions=0)
    with pytest.raises(ValidationError):
        EmbeddingRequest(model="m", input="x", encoding_format="int8")  # type: ignore[arg-type]


def test_base64_is_little_endian_float32_and_decodes_to_the_floats() -> None:
    assert encode(np.array([1.0, -2.0], dtype=np.float32), "base64") == "AACAPwAAAMA="  # as OpenAI's
    v = np.random.default_rng(0).standard_normal(576).astype(np.float32)
    decoded = np.frombuffer(base64.b64decode(encode(v, "base64")), dtype="<f4")  # type: ignore[arg-type]
    assert decoded.tolist() == encode(v, "float")


def test_the_answers_have_openais_and_ollamas_shapes() -> None:
    vectors = np.eye(2, dtype=np.float32)
    assert openai_answer("m", vectors, "float", 7) == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
            {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
        ],
        "model": "m",
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    }
    assert ollama_answer("m", vectors, 7, 5) == {
        "model": "m", "embeddings": [[1.0, 0.0], [0.0, 1.0]], "total_duration": 5, "load_duration": 0,
        "prompt_eval_count": 7,
    }  # fmt: skip


def test_ollama_inputs_and_names() -> None:
    assert ollama_inputs("") == [] and ollama_inputs([]) == [] and ollama_inputs("a") == ["a"]
    assert OllamaEmbedRequest(model="m:latest").model == "m" and OllamaEmbedRequest(model="m").truncate


def client(**settings: object) -> TestClient:
    node = Node(settings=Settings(**settings), node_id="n1", model_name="m")  # type: ignore[arg-type]
    return TestClient(create_app(node))


def test_a_node_without_embeddings_says_so_in_both_shapes() -> None:
    c = client()
    r = c.post("/v1/embeddings", json={"model": "m", "input": "hi"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "embeddings_disabled"
    assert "started without --embeddings" in r.json()["error"]["message"]
    r = c.post("/api/embed", json={"model": "m", "input": "hi"})
    assert r.status_code == 400 and "started without --embeddings" in r.json()["error"]
    r = c.post("/api/embeddings", json={"model": "m", "prompt": "hi"})
    assert r.status_code == 400 and "started without --embeddings" in r.json()["error"]
    assert c.post("/v1/embeddings", json={"model": "x", "input": "hi"}).status_code == 404


def test_a_node_with_embeddings_says_503_while_its_model_loads() -> None:
    r = client(embeddings=True).post("/v1/embeddings", json={"model": "m", "input": "hi"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "model_loading"
