"""Pure builders of the Responses API's answers: the ``response`` object, its output message and usage,
and ``ResponseEvents``, the streamed event sequence the openai SDK's ``responses.stream()`` expects:

``response.created``, ``response.in_progress``, ``response.output_item.added``,
``response.content_part.added``, ``response.output_text.delta`` ..., ``response.output_text.done``,
``response.content_part.done``, ``response.output_item.done``, then ``response.completed`` (or
``response.incomplete`` when ``max_output_tokens`` cut the answer, ``response.failed`` on an error),
each ``event: <type>`` plus ``data: <json>`` with a growing ``sequence_number``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
            "tool_choice": b.tool_choice or "auto",
            "tools": [],
            "top_p": defaults.top_p if b.top_p is None else b.top_p,
            "truncation": b.truncation or "disabled",
            "usage": None if finished is None else usage(finished),
            "user": b.user,
        }

    def final(self, text: str, finished: Finished) -> dict[str, Any]:
        status = status_of(finished)
        return self.response(status, [message_item(self.item_id, status, text)], finished)


@dataclass
class ResponseEvents:
    """The SSE events of one streamed response, numbered in order."""

    head: ResponseHead
    sequence: int = 0
    parts: list[str] = field(default_factory=list)

    def _event(self, type_: str, **fields: Any) -> bytes:
        data = {"type": type_, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return f"event: {type_}\ndata: {payload}\n\n".encode()

    def _where(self) -> dict[str, Any]:
        return {"item_id": self.head.item_id, "output_index": 0, "content_index": 0}

    def opening(self) -> list[bytes]:
        """Sent with the first token (so a forwarding node sees nothing before it)."""
        empty = self.head.response("in_progress", [])
        return [
            self._event("response.created", response=empty),
            self._event("response.in_progress", response=empty),
            self._event(
                "response.output_item.added",
                output_index=0,
                item=message_item(self.head.item_id, "in_progress", None),
            ),
            self._event("response.content_part.added", **self._where(), part=text_part("")),
        ]

    def delta(self, text: str) -> bytes:
        self.parts.append(text)
        return self._event("response.output_text.delta", **self._where(), delta=text, logprobs=[])

    def closing(self, finished: Finished) -> list[bytes]:
        text = "".join(self.parts)
        status = status_of(finished)
        final = "response.completed" if status == "completed" else "response.incomplete"
        return [
            self._event("response.output_text.done", **self._where(), text=text, logprobs=[]),
            self._event("response.content_part.done", **self._where(), part=text_part(text)),
            self._event(
                "response.output_item.done",
                output_index=0,
                item=message_item(self.head.item_id, status, text),
            ),
            self._event(final, response=self.head.final(text, finished)),
        ]

    def failed(self, status: int, message: str) -> bytes:
        """``response.failed``, its error ``code`` one of the Responses API's (by the HTTP status)."""
        error = {"code": failure_code(status), "message": message}
        item = message_item(self.head.item_id, "incomplete", "".join(self.parts))
        return self._event("response.failed", response=self.head.response("failed", [item], error=error))
