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
