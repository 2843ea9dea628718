"""Prompt cache across slots: the time to answer a request whose long prefix another slot holds.

Two nodes run at once, one with the prompt cache and one with ``--prefix-cache off``, and take turns,
round by round. Each round a first request (a ~1000-token prompt, new to the node: its rules open with
the round's number) starts generating; once its first token is out, a second request with the same
prompt and another question asks for one token. The table gives the second request's time (median
over the rounds), its cached tokens, and the per-round ratio off / on.

    python bench/prefix_reuse.py [--model smollm2-135m] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.nodeproc import NodeProcess

BANS = {"smollm2-135m": {"0": -100, "1": -100, "2": -100}, "gemma3-270m": {"1": -100, "106": -100}}
TOPICS = ["refunds", "shipping", "warranty", "returns", "invoices", "accounts", "privacy", "delivery"]


def system_prompt(session: int) -> str:
    rules = " ".join(
        f"Rule {i}: when a customer asks about {TOPICS[i % 8]}, answer politely, quote policy number "
        f"{100 + i} and offer to help with anything else."
        for i in range(33)
    )
    return f"Session {session}. You are the support assistant of a bookshop. {rules}"


async def first_generates(
    c: httpx.AsyncClient, url: str, body: dict[str, Any], started: asyncio.Event
) -> None:
    try:
        async with c.stream("POST", f"{url}/generate/stream", json=body) as r:
            r.raise_for_status()
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    started.set()
    finally:
        started.set()


async def one_round(url: str, session: int, ban: dict[str, int]) -> tuple[float, int, int]:
    system = system_prompt(session)
    first = {"prompt": system + "\nCustomer: Can I return a damaged book?\nAssistant:", "max_tokens": 400}
    first |= {"raw": True, "temperature": 0.8, "logit_bias": ban}
    second = {"prompt": system + "\nCustomer: How long does delivery take?\nAssistant:", "max_tokens": 1}
    async with httpx.AsyncClient(timeout=600) as c:
        started = asyncio.Event()
        running = asyncio.create_task(first_generates(c, url, first, started))
        await started.wait()
        t0 = time.perf_counter()
        r = await c.post(f"{url}/v1/completions", json={**second, "temperature": 0})
        elapsed = time.perf_counter() - t0
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    r.raise_for_status()
    usage = r.json()["usage"]
    return elapsed, usage["prompt_tokens_details"]["cached_tokens"], usage["prompt_tokens"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-prefix-"))
    flags = (
        "--n-ctx",
        "1536",
        "--n-parallel",
        "2",
        "--n-threads",
        str(args.threads),
        "--log-level",
        "WARNING",
    )
    nodes = {
        "on": NodeProcess(args.model, logs, *flags, name="cache-on"),
        "off": NodeProcess(args.model, logs, *flags, "--prefix-cache", "off", name="cache-off"),
    }
    results: dict[str, list[tuple[float, int, int]]] = {label: [] for label in nodes}
    try:
        for node in nodes.values():
            node.start()
        for r in range(args.rounds):
            for label, node in nodes.items():
                results[label].append(asyncio.run(one_round(node.url, r, BANS.get(args.model, {}))))
            print(
                f"round {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.3f} s" for k, v in results.items()),
                file=sys.stderr,
            )
    finally:
        for node in nodes.values():
            node.stop()
    print(f"\n### {args.model}: second request, prefix held by a generating slot ({args.rounds} rounds)\n")
    print("| prompt cache | time to answer, median s | cached / prompt tokens |\n|---|---:|---:|")
    for label, rs in results.items():
        print(f"| {label} | {statistics.median(x[0] for x in rs):.3f} | {rs[0][1]} / {rs[0][2]} |")
    ratios = [off[0] / on[0] for on, off in zip(results["on"], results["off"], strict=True)]
    print(f"\noff / on per round: {min(ratios):.1f}-{max(ratios):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
