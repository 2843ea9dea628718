"""Ollama request bodies (``/api/chat``, ``/api/generate``, ``/api/show``; ``/api/embed``: ``embeddings``).

Bounds are enforced here, as in ``schemas``, so bad input is a 400. ``OllamaOptions`` inherits the shared
sampling knobs (same names in Ollama's ``options``); which other options are honoured, accepted as hints
or refused is decided in ``ollama_translate``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llamanet.api.schemas import SamplingFields

MAX_MESSAGES = 1024
LATEST = ":latest"


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OllamaOptions(SamplingFields):
    """Ollama's ``options``; unknown keys are ignored, as Ollama does."""

    num_predict: int | None = Field(None, ge=-2)
    repeat_last_n: int | None = Field(None, ge=-1)
    # refused unless neutral (they would change the output and the engine does not implement them)
    mirostat: int | None = Field(None, ge=0, le=2)
    tfs_z: float | None = None
    typical_p: float | None = None
    # load-time and bookkeeping options, accepted as hints (the node's settings decide)
    num_ctx: int | None = Field(None, ge=0)
    num_keep: int | None = None
    num_batch: int | None = None
    num_gpu: int | None = None
    num_thread: int | None = None
    mirostat_tau: float | None = None
    mirostat_eta: float | None = None
    penalize_newline: bool | None = None


class _Generative(_Body):
    model: str = Field(..., min_length=1, max_length=512)
    stream: bool = True  # Ollama streams NDJSON unless told otherwise
    options: OllamaOptions | None = None
    format: Literal["", "json"] | dict[str, Any] | None = None
    keep_alive: float | str | None = None  # a hint: the model stays loaded for the node's lifetime
    think: bool | str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)

    @field_validator("model")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        """``name:latest`` is the node's ``name`` (Ollama's default tag)."""
        return v.removesuffix(LATEST)


class OllamaMessage(_Body):
    role: str
    content: str | None = None
    images: list[str] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    thinking: str | None = None  # an earlier answer's reasoning: not sent back to the model


class OllamaChatRequest(_Generative):
    messages: list[OllamaMessage] = Field(default_factory=list, max_length=MAX_MESSAGES)
    tools: list[dict[str, Any]] | None = None


class OllamaGenerateRequest(_Generative):
    prompt: str | None = None
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    context: list[int] | None = None
    raw: bool = False
    images: list[str] | None = None


class OllamaShowRequest(_Body):
    model: str | None = Field(None, max_length=512)
    name: str | None = Field(None, max_length=512)  # the older spelling
    verbose: bool = False

    def target(self) -> str | None:
        chosen = self.model or self.name
        return None if chosen is None else chosen.removesuffix(LATEST)
