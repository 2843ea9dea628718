"""Routing overhead: a stream sent to a node that must forward it vs the same stream sent directly.

Starts node A (serves the model) and node B (serves another model, joins A's swarm). Alternates
direct (client -> A) and forwarded (client -> B -> A) streaming requests, same prompt, greedy,
fixed length, and reports time-to-first-token p50 and decode tokens/s for both.

    python bench/routing_overhead.py [--runs 20] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.nodeproc import NodeProcess

from bench.node_throughput import NO_KEEPALIVE, one_stream

BAN = {"0": -100.0, "1": -100.0, "2": -100.0}


def wait_swarm(b: NodeProcess, model: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        models = httpx.get(f"{b.url}/v1/models", timeout=5).json()["data"]
        if any(m["id"] == model for m in models):
            return
        time.sleep(0.3)
    raise RuntimeError("the forwarding node never saw the model")


async def measure(
    a: str, b: str, model: str, runs: int, max_tokens: int
) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {"direct": [], "forwarded": []}
    async with httpx.AsyncClient(timeout=600, limits=NO_KEEPALIVE) as client:
        for url in (a, b):
            await one_stream(client, url, 8, BAN, model)  # warm-up
        for _ in range(runs):
            for label, url in (("direct", a), ("forwarded", b)):
                r = await one_stream(client, url, max_tokens, BAN, model)
                out[label].append((r.ttft, r.decode_tps))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--other-model", default="gemma3-270m")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="decode threads of the serving node")
    args = ap.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="routing-bench-"))
    common = ("--n-ctx", "1024", "--n-parallel", "1", "--log-level", "WARNING")
    # A decodes with fewer threads than cores, so B's relay is not measured as CPU stolen from A
    # (on separate machines it would not be)
    a = NodeProcess(args.model, logs, *common, "--n-threads", str(args.threads), name="a").start()
    b = NodeProcess(args.other_model, logs, *common, "--bootstrap-nodes", f"127.0.0.1:{a.dht_port}", name="b")
    try:
        b.start()
        wait_swarm(b, args.model)
        results = asyncio.run(measure(a.url, b.url, args.model, args.runs, args.max_tokens))
    finally:
        b.stop()
        a.stop()
    d_ttft = statistics.median(t for t, _ in results["direct"])
    f_ttft = statistics.median(t for t, _ in results["forwarded"])
    d_tps = statistics.median(s for _, s in results["direct"])
    f_tps = statistics.median(s for _, s in results["forwarded"])
    print(f"\n### Routing overhead ({args.model}, {args.max_tokens} tokens, {args.runs} runs each)\n")
    print("| path | TTFT p50 ms | decode tok/s p50 |\n|---|---:|---:|")
    print(f"| direct (client -> A) | {d_ttft * 1000:.1f} | {d_tps:.1f} |")
    print(f"| forwarded (client -> B -> A) | {f_ttft * 1000:.1f} | {f_tps:.1f} |")
    print(
        f"\nTTFT overhead p50: {(f_ttft - d_ttft) * 1000:.1f} ms (target <= 5 ms); "
        f"forwarded/direct tokens/s: {f_tps / d_tps:.3f} (target >= 0.95)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
