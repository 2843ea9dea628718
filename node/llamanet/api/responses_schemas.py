"""The ``/v1/responses`` request body (OpenAI's Responses API). Bounds here, so bad input is a 400;
``responses_translate`` decides what is honoured, accepted as a hint, or refused."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llamanet.api.schemas import SamplingFields

MAX_ITEMS = 1024
MAX_METADATA = 16


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InputPart(_Body):
    type: str
    text: str | None = None


class InputItem(_Body):
    """A message of the input (``type`` "message", the default of the SDK's easy input messages)."""

    type: str = "message"
    role: str | None = None
    content: str | list[InputPart] | None = None


class TextFormat(_Body):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None
    description: str | None = None


class TextConfig(_Body):
    format: TextFormat | None = None
    verbosity: str | None = None


class Reasoning(_Body):
    effort: str | None = None
    summary: str | None = None


class ResponsesRequest(SamplingFields):
    input: str | list[InputItem]
    instructions: str | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    stream: bool = False
    text: TextConfig | None = None
    # refused unless absent or neutral (see responses_translate)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    background: bool | None = None
    prompt: dict[str, Any] | None = None
    reasoning: Reasoning | None = None
    include: list[str] | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    # bookkeeping and hints: accepted (and echoed where the response has the field)
    store: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    truncation: Literal["auto", "disabled"] | None = None
    parallel_tool_calls: bool | None = None
    max_tool_calls: int | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    stream_options: dict[str, Any] | None = None

    @field_validator("input")
    @classmethod
    def _not_empty(cls, v: str | list[InputItem]) -> str | list[InputItem]:
        if not v:
            raise ValueError("input must not be empty")
        if isinstance(v, list) and len(v) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} input items")
        return v

    @field_validator("metadata")
    @classmethod
    def _metadata_limits(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is not None and (
            len(v) > MAX_METADATA or any(len(k) > 64 or len(x) > 512 for k, x in v.items())
        ):
            raise ValueError(f"at most {MAX_METADATA} metadata pairs (keys <= 64, values <= 512 chars)")
        return v
