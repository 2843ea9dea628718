"""Events a generation yields, in order: zero or more ``TokenDelta`` then one ``Finished``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class TokenDelta:
    """One sampled token. ``text`` may be empty while a UTF-8 sequence or a stop prefix is held back."""

    text: str
    token_id: int
    logprob: TokenLogprob | None = None


@dataclass(frozen=True)
class Finished:
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    time_to_first_token: float
    generation_time: float
    text_tail: str = ""  # text released only at the end (held back until the stream closed)
    queue_time: float = 0.0  # of time_to_first_token: waiting for a slot (or for a prefix in evaluation)


@dataclass(frozen=True)
class Failed:
    """The generation could not continue; ``error`` is an engine exception."""

    error: Exception


Event = TokenDelta | Finished | Failed
