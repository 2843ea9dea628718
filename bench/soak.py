"""Soak: N minutes (default 5) of mixed load on a two-node swarm, one node killed and restarted.

Nodes A and B (bootstrapped to A) both serve SmolLM2 as ``smol``; every request goes to A. The load,
all at once:

- valid streams to A with a short prompt (served by A, or forwarded to B when A's slots are full) and
  streams whose 600-character prompt prefix places them (prefix routing) on A or B: about half of them
  are forwarded; a forwarded stream is one answered with ``x-llamanet-node``;
- clients that leave mid-stream (read two events, close);
- hostile bodies (a huge ``minItems``, an oversized chunked body, a lone surrogate, a 1 MiB model name,
  a 5000-digit ``logit_bias`` key): each must get a 4xx;
- every ``--kill-every`` seconds node B is killed (SIGKILL) and restarted on the same ports;
- ``/health`` of A polled every 200 ms.

Reported: requests served, 500s (goal 0), requests A accepted and then lost (goal 0: a 200 whose
stream did not end in ``[DONE]``, an error event included, or a 5xx other than a documented 503 with
``Retry-After``), streams A resumed after B died mid-stream (from A's log), hostile requests not given
a 4xx, RSS of A at start and end, and ``/health`` p50/p99/max.

    python bench/soak.py --minutes 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.nodeproc import free_port

from llamanet.models.cache import ModelCache
from llamanet.settings import Settings

MESSAGES = [{"role": "user", "content": "Count from one to ten."}]


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    health_s: list[float] = field(default_factory=list)

    def add(self, key: str) -> None:
        self.counts[key] += 1


class NodeProc:
    def __init__(self, model: Path, name: str, *extra: str) -> None:
        self.port, self.dht_port = free_port(), free_port(socket.SOCK_DGRAM)
        self.log = Path(tempfile.gettempdir()) / f"soak-{name}-{self.port}.log"
        self.cmd = [
            sys.executable,
            "-m",
            "llamanet",
            "node",
            "--model-path",
            str(model),
            "--model-name",
            name,
        ]
        self.cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--dht-port", str(self.dht_port)]
        self.cmd += [
            "--n-ctx",
            "512",
            "--n-parallel",
            "2",
            "--n-threads",
            "1",
            "--heartbeat-interval",
            "2",
            "--log-level",
            "WARNING",
        ]
        self.cmd += list(extra)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        async with httpx.AsyncClient(timeout=2) as c:
            for _ in range(600):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"node exited; see {self.log}")
                try:
                    if (await c.get(f"{self.url}/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        raise RuntimeError(f"node not healthy; see {self.log}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)

    def rss(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


def documented(r: httpx.Response) -> bool:
    return r.status_code == 503 and "retry-after" in r.headers


def prefixed_messages(rng: random.Random) -> list[dict[str, str]]:
    """A prompt whose first 600 characters are new each time: prefix routing hashes it to A or B."""
    words = " ".join(rng.choice(("alpha", "beta", "gamma", "delta", "omega")) for _ in range(100))
    return [{"role": "user", "content": f"{words[:600]}\n\nCount from one to ten."}]


async def stream(
    c: httpx.AsyncClient, url: str, messages: list[dict[str, str]], tally: Tally, leave_early: bool
) -> None:
    body = {"model": "smol", "messages": messages, "max_tokens": 24, "stream": True}
    kind = "stream"
    try:
        async with c.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
            kind = "forwarded" if "x-llamanet-node" in r.headers else "stream"
            if r.status_code != 200:
                await r.aread()
                tally.add(f"{kind} {r.status_code}")
                if r.status_code >= 500 and not documented(r):
                    tally.add(f"lost {kind}")
                await asyncio.sleep(0.5)  # no hot loop while B is down
                return
            events = 0
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    events += 1
                    if leave_early and events >= 2:
                        tally.add("left mid-stream")
                        return
                    if line == "data: [DONE]":
                        tally.add(f"{kind} served")
                        return
                    if line.startswith('data: {"error"'):
                        tally.add(f"{kind} error event")
            tally.add(f"lost {kind}")  # the stream ended without [DONE]
    except httpx.HTTPError:
        tally.add(f"lost {kind}" if not leave_early else "left mid-stream")


def hostile_requests() -> list[tuple[str, dict[str, object]]]:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 20_000_000}
    fmt = {"type": "json_schema", "json_schema": {"schema": schema}}

    async def chunked() -> AsyncIterator[bytes]:
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(12):
            yield b"a" * (1 << 20)

    return [
        ("schema", {"json": {"messages": MESSAGES, "response_format": fmt}}),
        ("chunked", {"content": chunked, "headers": {"content-type": "application/json"}}),
        ("surrogate", {"content": b'{"messages": [{"role": "user", "content": "\\ud800"}]}',
                       "headers": {"content-type": "application/json"}}),
        ("model name", {"json": {"messages": MESSAGES, "model": "m" * (1 << 20)}}),
        ("logit_bias", {"json": {"messages": MESSAGES, "logit_bias": {"9" * 5000: 1}}}),
    ]  # fmt: skip


async def hostile(c: httpx.AsyncClient, url: str, tally: Tally, i: int) -> None:
    cases = hostile_requests()
    name, kw = cases[i % len(cases)]
    if callable(kw.get("content")):
        kw = {**kw, "content": kw["content"]()}  # type: ignore[operator]
    try:
        r = await c.post(f"{url}/v1/chat/completions", **kw)  # type: ignore[arg-type]
        tally.add("hostile 4xx" if 400 <= r.status_code < 500 else f"hostile {name} {r.status_code}")
    except httpx.HTTPError as exc:
        tally.add(f"hostile {name} {type(exc).__name__}")


async def worker(job: str, url: str, until: float, tally: Tally) -> None:
    rng = random.Random(job)
    async with httpx.AsyncClient(timeout=60) as c:
        i = 0
        while time.monotonic() < until:
            i += 1
            if job == "hostile":
                await hostile(c, url, tally, i)
                await asyncio.sleep(0.2)
            else:
                messages = prefixed_messages(rng) if job == "prefixed" else MESSAGES
                await stream(c, url, messages, tally, job == "leave")


async def health(url: str, until: float, tally: Tally) -> None:
    async with httpx.AsyncClient(timeout=30) as c:
        while time.monotonic() < until:
            t = time.monotonic()
            try:
                ok = (await c.get(f"{url}/health")).status_code == 200
            except httpx.HTTPError:
                ok = False
            tally.health_s.append(time.monotonic() - t)
            if not ok:
                tally.add("health failed")
            await asyncio.sleep(0.2)


async def killer(b: NodeProc, until: float, every: float, tally: Tally) -> None:
    while time.monotonic() + every < until:
        await asyncio.sleep(every)
        b.kill()
        tally.add("B killed")
        await asyncio.sleep(3)
        await b.start()


async def soak(minutes: float, kill_every: float) -> dict[str, object]:
    model, _ = ModelCache(Settings().models_dir).resolve("smollm2-135m")
    a = NodeProc(model, "smol")
    await a.start()
    b = NodeProc(model, "smol", "--bootstrap-nodes", f"127.0.0.1:{a.dht_port}")
    await b.start()
    tally = Tally()
    try:
        await asyncio.sleep(5)  # B's record reaches A
        rss_start = a.rss()
        until = time.monotonic() + minutes * 60
        jobs = ["stream", "prefixed", "prefixed", "leave", "hostile"]
        await asyncio.gather(
            *(worker(j, a.url, until, tally) for j in jobs),
            health(a.url, until, tally),
            killer(b, until, kill_every, tally),
        )
        rss_end = a.rss()
    finally:
        b.stop()
        a.stop()
    counts = tally.counts
    h = sorted(tally.health_s)
    served = sum(v for k, v in counts.items() if k.endswith("served"))
    return {
        "minutes": minutes,
        "served": served,
        "500s": sum(v for k, v in counts.items() if k.endswith(" 500")),
        "lost": sum(v for k, v in counts.items() if k.startswith("lost")),
        "resumed": a.log.read_text(errors="replace").count("resumed on node"),
        "hostile_not_4xx": sum(
            v for k, v in counts.items() if k.startswith("hostile ") and k != "hostile 4xx"
        ),
        "rss_start_mib": round(rss_start / 2**20),
        "rss_end_mib": round(rss_end / 2**20),
        "health_p50_ms": round(statistics.median(h) * 1000, 1),
        "health_p99_ms": round(h[int(len(h) * 0.99) - 1] * 1000, 1),
        "health_max_ms": round(h[-1] * 1000, 1),
        "counts": dict(sorted(counts.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds between kills of node B")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    report = asyncio.run(soak(args.minutes, args.kill_every))
    print(json.dumps(report, indent=2))
    return 0 if report["500s"] == 0 and report["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
