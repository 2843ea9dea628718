"""CPU time a node spends per streamed token, by thread: the event loop's share is HTTP/SSE overhead.

On a machine where the decoder uses every core, each microsecond the event loop spends per token is
taken from llama.cpp's threads, so this is the number to drive down (throughput itself is too noisy
on a small VM to show changes of a percent). Runs N concurrent streams of ``--max-tokens`` tokens
against a node started from this checkout (or, with ``PYTHONPATH``, from another tree) and reads
``/proc/<pid>/task/*/stat`` before and after.

    python bench/loop_cpu.py --model smollm2-135m --streams 8 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.node_throughput import EOG_BANS, concurrent, node_command, server
from llamanet.models.cache import ModelCache
from llamanet.settings import Settings


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of ``pid``."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    path, name = ModelCache(Settings().models_dir).resolve(args.model)
    ban = EOG_BANS.get(name, {})
    cmd, port = node_command(path, args.streams, args.threads)
    with server(cmd, port) as url:
        pid = next(
            int(p)
            for p in os.listdir("/proc")
            if p.isdigit() and f"--port\0{port}\0" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")
        )
        asyncio.run(concurrent(url, args.streams, 16, ban))  # warm-up
        before, mine, t0 = thread_cpu(pid), time.process_time(), time.perf_counter()
        rates = [
            asyncio.run(concurrent(url, args.streams, args.max_tokens, ban))[0] for _ in range(args.rounds)
        ]
        after, mine, wall = thread_cpu(pid), time.process_time() - mine, time.perf_counter() - t0
    tokens = args.streams * args.max_tokens * args.rounds
    used = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    loop = used.get(pid, 0.0)  # the main thread runs the event loop
    others = sorted((v for tid, v in used.items() if tid != pid), reverse=True)
    print(f"{name}, {args.streams} streams x {args.max_tokens} tokens x {args.rounds} rounds")
    print(f"aggregate tok/s per round: {', '.join(f'{r:.1f}' for r in rates)}")
    share = loop / wall * 100
    print(f"event loop thread: {loop / tokens * 1e6:.0f} us CPU per token ({share:.1f}% of a core)")
    busiest = ", ".join(f"{v / wall * 100:.0f}%" for v in others[:2])
    print(f"busiest other threads (llama.cpp): {busiest} of a core")
    print(f"benchmark client (this process): {mine / tokens * 1e6:.0f} us CPU per token")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
