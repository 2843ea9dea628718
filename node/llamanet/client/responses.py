"""What the client returns: a whole generation, a chat completion, or one streamed chunk."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GenerateResponse:
    """``POST /generate``'s answer, plus the URL of the node that served it."""

    text: str
    node_id: str
    model: str
    url: str
    tokens_generated: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens the node's prompt cache served
    generation_time: float = 0.0
    time_to_first_token: float = 0.0
    tokens_per_second: float = 0.0
    finish_reason: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any], url: str) -> GenerateResponse:
        return cls(
            text=str(body.get("text", "")),
            node_id=str(body.get("node_id", "")),
            model=str(body.get("model", "")),
            url=url,
            tokens_generated=int(body.get("tokens_generated") or 0),
            prompt_tokens=int(body.get("prompt_tokens") or 0),
            cached_tokens=int(body.get("cached_tokens") or 0),
            generation_time=float(body.get("generation_time") or 0.0),
            time_to_first_token=float(body.get("time_to_first_token") or 0.0),
            tokens_per_second=float(body.get("tokens_per_second") or 0.0),
            finish_reason=body.get("finish_reason"),
        )


@dataclass(frozen=True)
class ChatResponse:
    """An OpenAI chat completion reduced to what callers use; ``raw`` keeps the whole body."""

    text: str
    model: str
    url: str
    node_id: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # usage.prompt_tokens_details.cached_tokens
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def tokens_generated(self) -> int:
        return self.completion_tokens

    @classmethod
    def from_body(cls, body: dict[str, Any], url: str, node_id: str) -> ChatResponse:
        choice = (body.get("choices") or [{}])[0]
        usage = body.get("usage") or {}
        return cls(
            text=str((choice.get("message") or {}).get("content") or ""),
            model=str(body.get("model", "")),
            url=url,
            node_id=node_id,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
            raw=body,
        )


@dataclass(frozen=True)
class StreamChunk:
    """One piece of a streamed answer. The last chunk has ``finished=True`` and the totals."""

    text: str
    url: str
    node_id: str = ""
    finished: bool = False
    finish_reason: str | None = None
    tokens_generated: int | None = None
    generation_time: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def chunk_from_native(event: dict[str, Any], url: str, node_id: str) -> StreamChunk | None:
    """A ``/generate/stream`` event as a chunk; None for events with nothing in them."""
    finished = bool(event.get("finished"))
    text = str(event.get("text") or "")
    if not text and not finished:
        return None
    return StreamChunk(
        text=text,
        url=url,
        node_id=str(event.get("node_id") or node_id),
        finished=finished,
        finish_reason=event.get("finish_reason"),
        tokens_generated=event.get("tokens_generated"),
        generation_time=event.get("generation_time"),
        raw=event,
    )


def chunk_from_chat(event: dict[str, Any], url: str, node_id: str) -> StreamChunk | None:
    """A ``chat.completion.chunk`` as a chunk; the one carrying ``finish_reason`` is the last."""
    choices = event.get("choices") or []
    if not choices:
        return None
    choice = choices[0]
    text = str((choice.get("delta") or {}).get("content") or "")
    reason = choice.get("finish_reason")
    if not text and reason is None:
        return None
    return StreamChunk(
        text=text, url=url, node_id=node_id, finished=reason is not None, finish_reason=reason, raw=event
    )
