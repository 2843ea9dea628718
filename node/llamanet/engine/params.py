"""Sampling parameters and the request the scheduler runs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen. ``temperature == 0`` means greedy decoding."""

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    penalty_last_n: int = 64
    seed: int | None = None
    logit_bias: dict[int, float] = field(default_factory=dict)

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    @property
    def penalized(self) -> bool:
        return self.repeat_penalty != 1.0 or self.presence_penalty != 0.0 or self.frequency_penalty != 0.0


@dataclass(frozen=True)
class GenerationRequest:
    """A tokenized prompt plus everything that shapes its completion."""

    prompt_tokens: list[int]
    max_tokens: int
    sampling: SamplingParams = field(default_factory=SamplingParams)
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    logprobs: int | None = None  # None: no logprobs; N >= 0: chosen token plus N alternatives
    # a continuation of an interrupted generation: its last ``resumed_tokens`` prompt tokens are the text
    # already generated, counted by ``Finished`` as completion tokens (not prompt tokens)
    resumed_tokens: int = 0
