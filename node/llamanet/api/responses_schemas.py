"""The ``/v1/responses`` request body (OpenAI's Responses API). Bounds here, so bad input is a 400;
``responses_translate`` decides what is honoured, accepted as a hint, or refused."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llamanet.api.schemas import FUNCTION_NAME, MAX_NAME_CHARS, MAX_TOOLS, SamplingFields

MAX_ITEMS = 1024
MAX_METADATA = 16


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InputPart(_Body):
    type: str
    text: str | None = None


class InputItem(_Body):
    """An item of the input: a message (``type`` "message", the default of the SDK's easy input
    messages), a ``function_call`` of an earlier response, or a ``function_call_output``."""

    type: str = Field("message", max_length=MAX_NAME_CHARS)
    role: str | None = Field(None, max_length=MAX_NAME_CHARS)
    content: str | list[InputPart] | None = None
    call_id: str | None = Field(None, max_length=MAX_NAME_CHARS)
    name: str | None = Field(None, max_length=MAX_NAME_CHARS)
    arguments: str | None = Field(None, max_length=1 << 20)
    output: str | list[InputPart] | None = None


class ToolItem(_Body):
    """A tool of ``tools``: only ``function`` tools are served (``responses_translate``)."""

    type: str = Field(..., max_length=MAX_NAME_CHARS)
    name: str | None = Field(None, pattern=FUNCTION_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None  # the arguments follow the schema wherever a grammar forces the call


class ToolChoiceItem(_Body):
    """``tool_choice`` as an object: ``{"type": "function", "name": ...}`` is served."""

    type: str = Field(..., max_length=MAX_NAME_CHARS)
    name: str | None = Field(None, max_length=MAX_NAME_CHARS)


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
    tools: list[ToolItem] | None = Field(None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceItem | None = None
    parallel_tool_calls: bool | None = None
    # refused unless absent or neutral (see responses_translate)
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
