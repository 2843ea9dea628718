"""Pure: the OpenAI answers' shared parts (usage, chat and completion logprobs)."""

from __future__ import annotations

from typing import Any

from llamanet.engine.events import Finished, TokenLogprob


def usage(finished: list[Finished]) -> dict[str, Any]:
    prompt = sum(f.prompt_tokens for f in finished)
    completion = sum(f.completion_tokens for f in finished)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": sum(f.cached_tokens for f in finished)},
    }


def timings(f: Finished) -> dict[str, Any]:
    """llama-server's ``timings`` of one generation, with ``queue_ms`` (waiting for a slot) added:
    ``prompt_ms`` is from the slot to the first token (the prompt's evaluation), ``predicted_ms`` the
    rest. Where a request's time went, for clients and benchmarks."""
    prompt_n = f.prompt_tokens - f.cached_tokens
    prompt_ms = max(0.0, f.time_to_first_token - f.queue_time) * 1000
    predicted_ms = max(0.0, f.generation_time - f.time_to_first_token) * 1000
    return {
        "cache_n": f.cached_tokens,
        "queue_ms": round(f.queue_time * 1000, 3),
        "prompt_n": prompt_n,
        "prompt_ms": round(prompt_ms, 3),
        "prompt_per_second": prompt_n * 1000 / prompt_ms if prompt_ms > 0 else 0.0,
        "predicted_n": f.completion_tokens,
        "predicted_ms": round(predicted_ms, 3),
        "predicted_per_second": f.completion_tokens * 1000 / predicted_ms if predicted_ms > 0 else 0.0,
    }


def chat_logprob(lp: TokenLogprob) -> dict[str, Any]:
    def entry(token: str, logprob: float) -> dict[str, Any]:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}

    return {**entry(lp.token, lp.logprob), "top_logprobs": [entry(t, v) for t, v in lp.top]}


def completion_logprobs(lps: list[TokenLogprob], start: int = 0) -> dict[str, Any]:
    offsets, pos = [], start
    for lp in lps:
        offsets.append(pos)
        pos += len(lp.token)
    return {
        "tokens": [lp.token for lp in lps],
        "token_logprobs": [lp.logprob for lp in lps],
        "top_logprobs": [dict(lp.top) for lp in lps],
        "text_offset": offsets,
    }
