"""Chat load for the prefix benchmarks: streamed chats timed from the client, bursts and conversations.

Every server gets the same requests: an OpenAI chat completion, streamed, greedy, with end-of-generation
tokens banned (``logit_bias``) so every answer has exactly ``max_tokens`` tokens. TTFT is the time to the
first chunk carrying text; the usage chunk gives prompt and cached tokens where the server reports them,
and the server's ``timings`` its own split of the TTFT (queue, prompt) where it sends them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

# a fresh connection per request: each one goes through the round-robin proxy on its own, as through a
# Kubernetes Service (llama-server also closes kept-alive connections after a few requests)
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)
# end-of-generation and control tokens of the cached models
EOG_BANS = {
    "smollm2-135m": {"0": -100.0, "1": -100.0, "2": -100.0},
    "gemma3-270m": {"1": -100.0, "106": -100.0},
}
TOPICS = ["refunds", "shipping", "warranty", "returns", "invoices", "accounts", "privacy", "delivery"]
SHOPS = [
    "bookshop",
    "bicycle shop",
    "bakery",
    "garden centre",
    "music store",
    "pharmacy",
    "toy shop",
    "hotel",
]
ITEMS = ["parcel", "order", "voucher", "booking", "delivery", "invoice", "refund", "subscription"]
QUESTIONS = [
    "has not arrived although the tracking page said it would be here on Monday",
    "arrived damaged, with the box torn open on one side and a part missing",
    "was charged twice on my card, once on Friday and again this morning",
    "shows the wrong address, the old one from before I moved in March",
    "was cancelled without any message to me, and I still need it this week",
    "cannot be found in my account, although I got a confirmation email",
    "came with the wrong size, and the return form in the box is empty",
    "was promised with free delivery, but the checkout added a fee",
]


def system_prompt(tag: str, shop: int = 0, rules: int = 36) -> str:
    """About 30 tokens a rule (SmolLM2): 36 rules give a prompt of about 1100 tokens, new for each tag."""
    body = " ".join(
        f"Rule {i}: when a customer asks about {TOPICS[(i + shop) % 8]}, answer politely, quote policy "
        f"number {100 * (shop + 1) + i} and offer to help with anything else."
        for i in range(rules)
    )
    return f"{tag}. You are the support assistant of a {SHOPS[shop % 8]}. {body}"


def user_message(i: int) -> str:
    """About 32 tokens of a customer's question, different for each ``i``."""
    return (
        f"Hello, this is customer {1000 + 37 * i}. My {ITEMS[i % 8]} {QUESTIONS[(i // 8 + i) % 8]}. "
        "What should I do?"
    )


@dataclass
class Reply:
    ttft: float
    tokens: int
    text: str
    prompt_tokens: int = 0
    cached_tokens: int = 0
    served_by: str = ""
    turn: int = 0  # of its conversation (0: the first, on the system prompt alone)
    # the server's own split of the TTFT, from its ``timings`` (seconds; None where it sends none):
    queue: float | None = None  # waiting for a slot (llamanet's queue_ms; llama-server sends none)
    prompt_time: float | None = None  # evaluating the prompt (prompt_ms)


@dataclass
class Tally:
    """What one system did in one round."""

    replies: list[Reply] = field(default_factory=list)
    wall: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return sum(r.tokens for r in self.replies) / self.wall if self.wall else 0.0


async def chat(
    client: httpx.AsyncClient, url: str, model: str, messages: list[dict[str, str]], max_tokens: int
) -> Reply:
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "logit_bias": EOG_BANS.get(model, {}),
        "stream_options": {"include_usage": True},
    }
    t0 = time.perf_counter()
    ttft: float | None = None
    text: list[str] = []
    usage: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
        if r.status_code != 200:
            raise RuntimeError(f"{url}: {r.status_code} {(await r.aread())[:300]!r}")
        served_by = r.headers.get("x-llamanet-node", "")
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line[6:].strip() == "[DONE]":
                continue
            data = json.loads(line[6:])
            usage = data.get("usage") or usage
            timings = data.get("timings") or timings
            for choice in data.get("choices") or ():
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    ttft = ttft if ttft is not None else time.perf_counter() - t0
                    text.append(piece)
    details = usage.get("prompt_tokens_details") or {}
    return Reply(
        ttft if ttft is not None else time.perf_counter() - t0,
        int(usage.get("completion_tokens", len(text))),
        "".join(text),
        int(usage.get("prompt_tokens", 0)),
        int(details.get("cached_tokens", 0)),
        served_by,
        queue=timings["queue_ms"] / 1000 if "queue_ms" in timings else None,
        prompt_time=timings["prompt_ms"] / 1000 if "prompt_ms" in timings else None,
    )


async def burst(url: str, model: str, system: str, users: list[str], max_tokens: int) -> Tally:
    """One chat per user message, all sent at the same moment."""
    async with httpx.AsyncClient(timeout=1800, limits=NO_KEEPALIVE) as client:
        t0 = time.perf_counter()
        replies = await asyncio.gather(
            *(
                chat(
                    client,
                    url,
                    model,
                    [{"role": "system", "content": system}, {"role": "user", "content": u}],
                    max_tokens,
                )
                for u in users
            )
        )
        return Tally(list(replies), time.perf_counter() - t0)


async def conversations(
    url: str, model: str, systems: list[str], users: int, turns: int, max_tokens: int
) -> Tally:
    """``users`` conversations per system prompt, all started at once; each sends its next turn (its
    history: the answers it got, and a new question) as soon as its previous answer is complete."""
    tally = Tally()

    async def one(client: httpx.AsyncClient, system: str, who: int) -> None:
        messages = [{"role": "system", "content": system}]
        for turn in range(turns):
            messages.append({"role": "user", "content": user_message(who * turns + turn)})
            reply = await chat(client, url, model, messages, max_tokens)
            reply.turn = turn
            tally.replies.append(reply)
            messages.append({"role": "assistant", "content": reply.text})

    async with httpx.AsyncClient(timeout=1800, limits=NO_KEEPALIVE) as client:
        t0 = time.perf_counter()
        await asyncio.gather(
            *(one(client, s, t * users + u) for t, s in enumerate(systems) for u in range(users))
        )
        tally.wall = time.perf_counter() - t0
    return tally


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] if s else 0.0
