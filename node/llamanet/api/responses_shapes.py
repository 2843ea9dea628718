"""Pure builders of the Responses API's answers: the ``response`` object (``ResponseHead``), usage, and
its output items (the assistant ``message``, ``function_call``s); the streamed events are
``responses_events``'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from llamanet.api.responses_schemas import ResponsesRequest
from llamanet.api.translate import DEFAULT_TEMPERATURE
from llamanet.engine.events import Finished
from llamanet.engine.params import SamplingParams

Status = Literal["in_progress", "completed", "incomplete", "failed"]


def usage(f: Finished) -> dict[str, Any]:
    return {
        "input_tokens": f.prompt_tokens,
        "input_tokens_details": {"cached_tokens": f.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": f.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": f.prompt_tokens + f.completion_tokens,
    }


def failure_code(status: int) -> str:
    if status == 429:
        return "rate_limit_exceeded"
    return "invalid_prompt" if 400 <= status < 500 else "server_error"


def status_of(f: Finished) -> Status:
    return "incomplete" if f.finish_reason == "length" else "completed"


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, status: Status, text: str | None) -> dict[str, Any]:
    """The assistant message of the output; ``text`` None: no content part yet."""
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [] if text is None else [text_part(text)],
    }


def function_call_item(
    item_id: str, call_id: str, name: str, status: Status, arguments: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def _tool_choice(body: ResponsesRequest) -> Any:
    choice = body.tool_choice
    if choice is None or isinstance(choice, str):
        return choice or "auto"
    return choice.model_dump(exclude_none=True)


@dataclass(frozen=True)
class ResponseHead:
    """What every ``response`` object of one request repeats: ids, the model, the echoed settings."""

    response_id: str
    item_id: str
    created_at: int
    model: str
    body: ResponsesRequest

    def response(
        self,
        status: Status,
        output: list[dict[str, Any]],
        finished: Finished | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        b, defaults = self.body, SamplingParams()
        text = b.text.model_dump(by_alias=True, exclude_none=True) if b.text is not None else {}
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": b.instructions,
            "max_output_tokens": b.max_output_tokens,
            "metadata": b.metadata or {},
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True if b.parallel_tool_calls is None else b.parallel_tool_calls,
            "previous_response_id": None,
            "reasoning": None,
            "store": bool(b.store),
            "temperature": DEFAULT_TEMPERATURE if b.temperature is None else b.temperature,
            "text": {"format": {"type": "text"}, **text},
            "tool_choice": _tool_choice(b),
            "tools": [t.model_dump(exclude_none=True) for t in b.tools or ()],
            "top_p": defaults.top_p if b.top_p is None else b.top_p,
            "truncation": b.truncation or "disabled",
            "usage": None if finished is None else usage(finished),
            "user": b.user,
        }
