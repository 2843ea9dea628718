"""Requests arriving together on a new long prefix, on a real model: the prefix is evaluated once, not
once per slot. No slot holds it when they arrive; one evaluates it, the others wait for it and copy it
(``cached_tokens`` >= 80 % of the prompt for all but one, exactly their shared prefix), and the
greedy answers are those of a node with ``--prefix-cache off`` (up to near ties, below). A request
sharing nothing with them, in the same burst, is served meanwhile (not queued behind the waiting ones).

The same greedy answer: llama.cpp's numbers depend slightly on what else is in a decode call (a batch
of several sequences is split into ubatches of other shapes), with or without a cache, and which
requests share a call depends on when each arrives; so the same prompt's greedy answer may part ways
where its best tokens are close (seen: ", " or " to" or "." after "shipping", from one run to the
next). The check: the tokens are the same up to the first difference, and there our token is within
``TIE`` nats of the reference's best. A wrong copy changes the first tokens by far more (the copy
itself is checked bit for bit in test_prefix_cache)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llamanet.engine.prefix_cache import common_prefix
from llamanet.models.cache import ModelCache
from tests.integration.conftest import SMOL, Nodes
from tests.integration.test_prefix_cache import SYSTEM, complete, tokens
from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model
QUESTIONS = ["Can I return a damaged book?", "How long does delivery take?", "Who pays for shipping?"]
QUESTIONS += ["Where is my invoice?"]
BURST = [f"Session 7. {SYSTEM}\nCustomer: {q}\nAssistant:" for q in QUESTIONS]
OTHER = "The capital of France is"
TOP = 5  # top logprobs asked for: a near tie is among them
TIE = 0.5  # nats between the reference's best token and ours where they part ways


def parting(ours: dict[str, Any], ref: dict[str, Any]) -> tuple[int, float] | None:
    """Where the two answers part ways, and how close the two tokens there were: the smaller of their
    gaps (nats) in either answer's top logprobs (inf: neither lists the other's token); None when they
    are the same."""
    a, b = ours["choices"][0]["logprobs"], ref["choices"][0]["logprobs"]
    n = next((i for i, (x, y) in enumerate(zip(a["tokens"], b["tokens"], strict=False)) if x != y), None)
    if n is None:
        if len(a["tokens"]) == len(b["tokens"]):
            return None
        n = min(len(a["tokens"]), len(b["tokens"]))  # one ended (its end token) where the other went on
    if n >= len(a["tokens"]) or n >= len(b["tokens"]):
        return n, float("inf")
    ta, tb = a["tokens"][n], b["tokens"][n]
    gaps = [
        top[x] - top.get(y, float("-inf"))
        for top, x, y in ((b["top_logprobs"][n], tb, ta), (a["top_logprobs"][n], ta, tb))
        if x in top
    ]
    return n, min(gaps, default=float("inf"))


@pytest.fixture(scope="module")
def pair(node_logs: Any, request: pytest.FixtureRequest) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    nodes = Nodes(node_logs)
    args = ("--n-ctx", "1280", "--n-parallel", str(len(BURST) + 1), "--n-threads", "2")
    try:
        yield (
            nodes.start(SMOL, *args, name="burst-cache"),
            nodes.start(SMOL, *args, "--prefix-cache", "off", name="burst-nocache"),
        )
    finally:
        nodes.stop_all(request.session.testsfailed > 0)


async def burst(url: str, together: bool = True) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=900) as c:
        if together:
            return await asyncio.gather(
                *(complete(c, url, p, max_tokens=12, logprobs=TOP) for p in [*BURST, OTHER])
            )
        return [await complete(c, url, p, max_tokens=12, logprobs=TOP) for p in [*BURST, OTHER]]


def test_a_burst_on_a_new_prefix_evaluates_it_once(
    pair: tuple[NodeProcess, NodeProcess], model_cache: ModelCache
) -> None:
    cached_node, plain = pair
    answers = asyncio.run(burst(cached_node.url))
    reference = asyncio.run(burst(plain.url, together=False))  # each prompt evaluated alone
    prompts = tokens(model_cache, SMOL, *BURST)
    shared = min(common_prefix(prompts[0], p) for p in prompts[1:])
    usage = [a["usage"] for a in answers[: len(BURST)]]
    assert all(u["prompt_tokens"] == len(p) for u, p in zip(usage, prompts, strict=True))
    assert min(len(p) for p in prompts) >= 1000
    cached = sorted(u["prompt_tokens_details"]["cached_tokens"] for u in usage)
    # one request evaluated the prefix; every other copied exactly the shared part of it
    assert cached[1:] == [shared] * (len(BURST) - 1), (cached, shared)
    assert shared >= 0.8 * max(len(p) for p in prompts)
    assert all(r["usage"]["prompt_tokens_details"]["cached_tokens"] == 0 for r in reference)
    assert all(a["choices"][0]["text"].strip() for a in answers)
    parted = [(i, parting(a, r)) for i, (a, r) in enumerate(zip(answers, reference, strict=True))]
    texts = [
        (a["choices"][0]["text"], r["choices"][0]["text"]) for a, r in zip(answers, reference, strict=True)
    ]
    far = [(i, p, texts[i]) for i, p in parted if p is not None and p[1] >= TIE]
    assert not far, far
