"""Request bodies. Bounds are enforced here so bad input becomes a 400, never a 500."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

MAX_STOP = 16
MAX_PROMPTS = 16
MAX_NAME_CHARS = 256  # model names, roles, message names: identifiers, never echoed longer than this
MAX_TOKEN_ID_DIGITS = 10


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SamplingFields(_Body):
    """Sampling knobs common to every generation route."""

    model: str | None = Field(None, max_length=MAX_NAME_CHARS)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0, le=1000)
    min_p: float | None = Field(None, ge=0.0, le=1.0)
    repeat_penalty: float | None = Field(None, gt=0.0, le=10.0)
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    seed: int | None = Field(None, ge=-(2**63), le=2**64 - 1)
    stop: str | list[str] | None = None
    logit_bias: dict[str, float] | None = None

    @field_validator("stop")
    @classmethod
    def _stop_limits(cls, v: str | list[str] | None) -> str | list[str] | None:
        items = [v] if isinstance(v, str) else (v or [])
        if len(items) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop sequences")
        if any(len(s) > 256 for s in items):
            raise ValueError("a stop sequence is at most 256 characters")
        return v

    @field_validator("logit_bias")
    @classmethod
    def _bias_limits(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        if len(v) > 1024:
            raise ValueError("at most 1024 logit_bias entries")
        for key, bias in v.items():
            if not (key.isascii() and key.isdigit() and len(key) <= MAX_TOKEN_ID_DIGITS):
                shown = key if len(key) <= 16 else f"{key[:16]}... ({len(key)} characters)"
                raise ValueError(
                    f"logit_bias keys are token ids of at most {MAX_TOKEN_ID_DIGITS} digits, got {shown!r}"
                )
            if not -100.0 <= bias <= 100.0:
                raise ValueError("logit_bias values must be within -100..100")
        return v


class JsonSchemaFormat(_Body):
    name: str | None = Field(None, max_length=MAX_NAME_CHARS)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Body):
    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: JsonSchemaFormat | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")  # llama.cpp server's shorthand


class StreamOptions(_Body):
    include_usage: bool = False


CONTINUATION_FIELD = "llamanet_continuation"  # ``routing.tape`` writes it; only peers may send it


class Continuation(_Body):
    # The text an interrupted generation of this request already streamed to its client; the node
    # continues after it (chat: after the rendered generation prompt; completions and /generate: after
    # the prompt). Set only by the entry node of a stream whose serving node died, in a signed forwarded
    # request (``dependencies.check_continuation``); the field is hidden from the OpenAPI schema.
    text: str


class Continued(_Body):
    llamanet_continuation: SkipJsonSchema[Continuation | None] = None


class GenerateRequest(SamplingFields, Continued):
    """The native ``/generate`` body (the seed's contract plus the shared sampling knobs)."""

    prompt: str = Field(..., min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    stream: bool = False
    raw: bool = Field(
        False, description="send the prompt as-is instead of as a user turn of the chat template"
    )


class ContentPart(_Body):
    type: str = Field(..., max_length=MAX_NAME_CHARS)
    text: str | None = None


FUNCTION_NAME = r"^[a-zA-Z0-9_-]{1,64}$"  # OpenAI's rule for function names
MAX_TOOLS = 128


class FunctionCall(_Body):
    name: str = Field(..., pattern=FUNCTION_NAME)
    arguments: str = Field(..., max_length=1 << 20)


class ToolCall(_Body):
    """A call in an assistant turn of the history."""

    id: str | None = Field(None, max_length=MAX_NAME_CHARS)
    type: Literal["function"] = "function"
    function: FunctionCall


class FunctionDefinition(_Body):
    name: str = Field(..., pattern=FUNCTION_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None  # the arguments always follow the schema where a grammar forces them


class Tool(_Body):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_Body):
    name: str = Field(..., max_length=MAX_NAME_CHARS)


class NamedToolChoice(_Body):
    type: Literal["function"]
    function: NamedFunction


class ChatMessage(_Body):
    role: str = Field(..., max_length=MAX_NAME_CHARS)
    content: str | list[ContentPart] | None = Field(None)
    name: str | None = Field(None, max_length=MAX_NAME_CHARS)
    tool_calls: list[ToolCall] | None = Field(None, max_length=MAX_TOOLS)
    tool_call_id: str | None = Field(None, max_length=MAX_NAME_CHARS)

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        parts = []
        for part in self.content:
            if part.type != "text" or part.text is None:
                raise ValueError(f"content parts of type {part.type!r} are not supported")
            parts.append(part.text)
        return "".join(parts)


class ChatCompletionRequest(SamplingFields, Continued):
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=1024)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    response_format: ResponseFormat | None = None
    n: int = Field(1, ge=1, le=1)
    tools: list[Tool] | None = Field(None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # OpenAI's deprecated forms of tools: refused with a pointer to ``tools`` (``tool_plan``)
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None


class CompletionRequest(SamplingFields, Continued):
    prompt: str | list[str] = Field(...)
    max_tokens: int | None = Field(16, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: int | None = Field(None, ge=0, le=20)
    response_format: ResponseFormat | None = None
    echo: bool = False
    n: int = Field(1, ge=1, le=1)

    @field_validator("prompt")
    @classmethod
    def _prompt_limits(cls, v: str | list[str]) -> str | list[str]:
        items = [v] if isinstance(v, str) else v
        if not items:
            raise ValueError("prompt must not be empty")
        if len(items) > MAX_PROMPTS:
            raise ValueError(f"at most {MAX_PROMPTS} prompts per request")
        if any(not p for p in items):
            raise ValueError("prompts must not be empty strings")
        return v
