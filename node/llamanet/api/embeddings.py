"""Pure parts of the embedding routes: the request bodies (OpenAI's ``/v1/embeddings``, Ollama's
``/api/embed`` and ``/api/embeddings``), their inputs as texts or token ids, the ``dimensions`` check,
``float`` / ``base64`` encoding (little-endian float32, as OpenAI's) and the answers' shapes."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from llamanet.api.errors import ApiError
from llamanet.api.ollama_schemas import OllamaOptions
from llamanet.api.schemas import MAX_NAME_CHARS

MAX_INPUTS = 256  # inputs of one request
LATEST = ":latest"

Inputs = list[str] | list[list[int]]
INPUT_SHAPES = "input must be a string, a list of strings, a list of token ids or a list of token-id lists"


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EmbeddingRequest(_Body):
    """OpenAI's ``/v1/embeddings`` body; ``user`` is bookkeeping (accepted, no effect)."""

    model: str = Field(..., max_length=MAX_NAME_CHARS)
    input: StrictStr | list[StrictStr] | list[StrictInt] | list[list[StrictInt]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = Field(None, max_length=MAX_NAME_CHARS)

    @field_validator("input", mode="wrap")
    @classmethod
    def _one_of_four(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(INPUT_SHAPES) from None


class OllamaEmbedRequest(_Body):
    """Ollama's ``/api/embed``: ``truncate`` (default on) cuts inputs longer than the context."""

    model: str = Field(..., min_length=1, max_length=MAX_NAME_CHARS)
    input: StrictStr | list[StrictStr] = ""
    truncate: bool = True
    dimensions: int | None = Field(None, ge=1)
    options: OllamaOptions | None = None  # sampling options: nothing to sample, accepted
    keep_alive: float | str | None = None

    @field_validator("model")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        return v.removesuffix(LATEST)


class OllamaEmbeddingsRequest(_Body):
    """Ollama's older ``/api/embeddings``: one ``prompt``."""

    model: str = Field(..., min_length=1, max_length=MAX_NAME_CHARS)
    prompt: StrictStr = ""
    options: OllamaOptions | None = None
    keep_alive: float | str | None = None

    @field_validator("model")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        return v.removesuffix(LATEST)


def openai_inputs(value: str | list[str] | list[int] | list[list[int]]) -> Inputs:
    """OpenAI's ``input`` (validated: one of these four) as a list of texts or a list of token arrays;
    400 when empty or too many."""
    items: Inputs
    if isinstance(value, str):
        items = [value]
    elif value and isinstance(value[0], int):
        items = [value]  # one token array
    else:
        items = cast(Inputs, value)
    if not items:
        raise ApiError(400, "input must not be an empty list", param="input", code="empty_input")
    if len(items) > MAX_INPUTS:
        raise ApiError(
            400,
            f"input has {len(items)} items; at most {MAX_INPUTS} per request",
            param="input",
            code="too_many_inputs",
        )
    for i, item in enumerate(items):
        if len(item) == 0:
            raise ApiError(400, f"input[{i}] is empty", param="input", code="empty_input")
    return items


def ollama_inputs(value: str | Sequence[str]) -> list[str]:
    """Ollama's ``input``; an empty string or list is no input (the model is "loaded", as Ollama)."""
    items = [value] if isinstance(value, str) else list(value)
    items = [] if items == [""] else items
    if len(items) > MAX_INPUTS:
        raise ApiError(400, f"input has {len(items)} items; at most {MAX_INPUTS} per request")
    return items


def check_dimensions(requested: int | None, size: int) -> None:
    """``dimensions`` is honoured only as the model's own size (vectors are never cut or projected)."""
    if requested is not None and requested != size:
        raise ApiError(
            400,
            f"dimensions={requested} is not available: this model's embeddings have {size} dimensions "
            f"(send dimensions={size} or leave it out)",
            param="dimensions",
            code="unsupported_dimensions",
        )


def encode(vector: npt.NDArray[np.float32], encoding_format: str) -> list[float] | str:
    """A vector as JSON floats, or base64 of its little-endian float32 bytes (OpenAI's ``base64``)."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    floats: list[float] = vector.astype(np.float32).tolist()
    return floats


def openai_answer(
    model: str, vectors: npt.NDArray[np.float32], encoding_format: str, prompt_tokens: int
) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encode(v, encoding_format)}
            for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def ollama_answer(
    model: str, vectors: npt.NDArray[np.float32], prompt_tokens: int, duration_ns: int
) -> dict[str, Any]:
    return {
        "model": model,
        "embeddings": [encode(v, "float") for v in vectors],
        "total_duration": duration_ns,
        "load_duration": 0,
        "prompt_eval_count": prompt_tokens,
    }
