"""Node throughput benchmark: LlamaNet node vs llama-server vs llama-cpp-python in-process.

Same model, prompt, max_tokens, threads and greedy sampling for all; every stream is forced to the same
length (the end-of-generation tokens are banned with logit_bias), so tokens/s compare like for like.
Measures single-stream decode tokens/s and time to first token, then 1, 4 and 8 concurrent streams
(aggregate tokens/s, requests completed). Baselines are measured in the same run: for each level all
servers run at once and take turns, round by round, and the tables report medians over the rounds
(this VM's speed drifts by several percent within minutes, which a one-shot comparison would read as a
difference between servers).

    python bench/node_throughput.py --model smollm2-135m [--llama-server PATH] [--rounds 5]

On a GPU (bench/gpu_check.py): ``--n-gpu-layers -1`` offloads every layer in every server, ``--json PATH``
writes the results for a report, ``--no-in-process`` leaves out the two in-process rows.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.nodeproc import free_port

from llamanet.models.cache import ModelCache
from llamanet.settings import Settings

# a fresh connection per request for every server: llama-server (cpp-httplib) closes kept-alive
# connections after a few requests, which a reused connection sees as a failure
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)
# end-of-generation tokens of the cached models, banned so every stream runs to max_tokens
EOG_BANS = {"smollm2-135m": {"2": -100.0, "0": -100.0}, "gemma3-270m": {"1": -100.0, "106": -100.0}}
PROMPT = "Write a detailed essay about the history of the printing press and its effect on Europe."


@dataclass
class StreamResult:
    tokens: int
    ttft: float
    decode_tps: float
    wall: float


async def one_stream(
    client: httpx.AsyncClient, url: str, max_tokens: int, ban: dict[str, float], model: str | None = None
) -> StreamResult:
    body = {
        "prompt": PROMPT,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "logit_bias": ban,
        "stream_options": {"include_usage": True},
    }
    if model is not None:
        body["model"] = model
    t0 = time.perf_counter()
    stamps: list[float] = []
    counted: int | None = None  # the server's own token count, from the usage chunk
    async with client.stream("POST", f"{url}/v1/completions", json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line[6:].strip() == "[DONE]":
                continue
            data = json.loads(line[6:])
            if data.get("usage"):
                counted = data["usage"]["completion_tokens"]
            if data.get("choices") and data["choices"][0].get("text"):
                stamps.append(time.perf_counter())
    wall = time.perf_counter() - t0
    n = counted if counted is not None else len(stamps)
    decode = (n - 1) / (stamps[-1] - stamps[0]) if n > 1 and stamps[-1] > stamps[0] else 0.0
    return StreamResult(n, stamps[0] - t0 if stamps else wall, decode, wall)


async def concurrent(
    url: str, n: int, max_tokens: int, ban: dict[str, float]
) -> tuple[float, int, list[float]]:
    async with httpx.AsyncClient(timeout=600, limits=NO_KEEPALIVE) as client:
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(one_stream(client, url, max_tokens, ban) for _ in range(n)), return_exceptions=True
        )
        wall = time.perf_counter() - t0
    answered = [r for r in results if isinstance(r, StreamResult)]
    completed = sum(1 for r in answered if r.tokens >= max_tokens)  # streams not cut off
    return sum(r.tokens for r in answered) / wall, completed, [r.ttft for r in answered] or [wall]


def node_command(model: Path, n_parallel: int, threads: int) -> tuple[list[str], int]:
    """A ``llamanet node`` command line with ``n_parallel`` slots of 1024 tokens, and its HTTP port."""
    port = free_port()
    cmd = [sys.executable, "-m", "llamanet", "node", "--model-path", str(model), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--dht-port", str(free_port()), "--n-ctx", "1024"]
    cmd += ["--n-parallel", str(n_parallel), "--n-threads", str(threads), "--log-level", "WARNING"]
    return cmd, port


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 180, path: str = "/health") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not become ready")


def beside(binary: str | Path) -> dict[str, str]:
    """The environment that finds a llama.cpp binary's own libraries beside it, ahead of the
    library path already set (where a GPU host's CUDA libraries may be)."""
    prior = os.environ.get("LD_LIBRARY_PATH")
    return {"LD_LIBRARY_PATH": f"{Path(binary).parent}:{prior}" if prior else str(Path(binary).parent)}


@contextmanager
def server(
    cmd: list[str], port: int, env: dict[str, str] | None = None, ready: str = "/health"
) -> Iterator[str]:
    log = Path(tempfile.gettempdir()) / f"bench-{Path(cmd[0]).name}-{port}.log"
    proc = subprocess.Popen(
        cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    print(f"server log: {log}", file=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, path=ready)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def in_process(
    model: Path, threads: int, max_tokens: int, ban: dict[str, float], runs: int, gpu_layers: int = 0
) -> StreamResult:
    from llama_cpp import Llama

    llm = Llama(
        str(model),
        n_ctx=1024,
        n_threads=threads,
        n_threads_batch=threads,
        n_gpu_layers=gpu_layers,
        verbose=False,
    )
    bias = {int(k): v for k, v in ban.items()}
    results = []
    for _ in range(runs):
        llm.reset()
        t0 = time.perf_counter()
        stamps = []
        for _chunk in llm.create_completion(
            PROMPT, max_tokens=max_tokens, temperature=0, stream=True, logit_bias=bias
        ):
            stamps.append(time.perf_counter())
        n = len(stamps)
        results.append(StreamResult(n, stamps[0] - t0, (n - 1) / (stamps[-1] - stamps[0]), stamps[-1] - t0))
    return median_result(results)


def engine_in_process(
    model: Path, threads: int, n: int, max_tokens: int, ban: dict[str, float], gpu_layers: int = 0
) -> float:
    """Aggregate tokens/s of n streams through our Engine directly: the decoder without HTTP."""
    from llamanet.engine.engine import Engine
    from llamanet.engine.events import TokenDelta
    from llamanet.engine.params import GenerationRequest, SamplingParams
    from llamanet.engine.runtime import RuntimeConfig

    engine = Engine.load(
        model,
        "bench",
        RuntimeConfig(n_ctx=1024, n_parallel=n, n_threads=threads, n_gpu_layers=gpu_layers),
    )
    params = SamplingParams(temperature=0, logit_bias={int(k): v for k, v in ban.items()})

    async def one(tokens: int) -> int:
        gen = engine.submit(GenerationRequest(engine.tokenize_text(PROMPT), tokens, params))
        return sum([1 async for ev in gen if isinstance(ev, TokenDelta)])

    async def run() -> float:
        await asyncio.gather(*(one(16) for _ in range(n)))
        t0 = time.perf_counter()
        counts = await asyncio.gather(*(one(max_tokens) for _ in range(n)))
        return sum(counts) / (time.perf_counter() - t0)

    try:
        return asyncio.run(run())
    finally:
        engine.close()


def median_result(rs: list[StreamResult]) -> StreamResult:
    return StreamResult(
        int(statistics.median(r.tokens for r in rs)),
        statistics.median(r.ttft for r in rs),
        statistics.median(r.decode_tps for r in rs),
        statistics.median(r.wall for r in rs),
    )


def single(url: str, max_tokens: int, ban: dict[str, float], runs: int) -> StreamResult:
    async def go() -> list[StreamResult]:
        async with httpx.AsyncClient(timeout=600, limits=NO_KEEPALIVE) as client:
            await one_stream(client, url, 8, ban)  # warm-up
            return [await one_stream(client, url, max_tokens, ban) for _ in range(runs)]

    return median_result(asyncio.run(go()))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def write_json(
    path: Path,
    model: str,
    single_rows: dict[str, StreamResult],
    conc_rows: dict[tuple[str, int], tuple[float, int, list[float]]],
    engine_rows: dict[int, float],
) -> None:
    conc = [
        {"server": label, "streams": n, "tokens_per_s": tps, "completed": done}
        | {"ttft_p50_s": pct(ttfts, 0.5), "ttft_p95_s": pct(ttfts, 0.95)}
        for (label, n), (tps, done, ttfts) in conc_rows.items()
    ]
    conc += [
        {"server": "llamanet engine in-process", "streams": n, "tokens_per_s": t}
        for n, t in engine_rows.items()
    ]
    single = {
        label: {"decode_tokens_per_s": r.decode_tps, "ttft_s": r.ttft} for label, r in single_rows.items()
    }
    path.write_text(json.dumps({"model": model, "single": single, "concurrent": conc}, indent=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--llama-server", default=None, help="llama-server binary (bench/build_llama_server.sh)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3, help="single-stream runs per server (median)")
    ap.add_argument("--rounds", type=int, default=5, help="concurrent rounds per server and level (median)")
    ap.add_argument("--concurrency", default="1,4,8")
    ap.add_argument("--ban", default=None, help="JSON logit_bias banning end-of-generation tokens")
    ap.add_argument("--n-gpu-layers", type=int, default=0, help="layers on the GPU in every server (-1: all)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    ap.add_argument("--no-in-process", action="store_true", help="leave out the in-process rows")
    args = ap.parse_args()
    if args.n_gpu_layers:
        os.environ["N_GPU_LAYERS"] = str(args.n_gpu_layers)  # the node's setting, inherited by its process
    ngl = ["-ngl", str(999 if args.n_gpu_layers < 0 else args.n_gpu_layers)] if args.n_gpu_layers else []

    path, name = ModelCache(Settings().models_dir).resolve(args.model)
    ban = json.loads(args.ban) if args.ban else EOG_BANS.get(name, {})
    levels = [int(x) for x in args.concurrency.split(",")]
    single_rows: dict[str, StreamResult] = {}
    conc_rows: dict[tuple[str, int], tuple[float, int, list[float]]] = {}
    conc_rounds: dict[tuple[str, int], list[float]] = {}

    def ours(n_parallel: int) -> tuple[list[str], int]:
        return node_command(path, n_parallel, args.threads)

    def theirs(n_parallel: int) -> tuple[list[str], int]:
        port = free_port()
        return (
            [
                args.llama_server,
                "-m",
                str(path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "-c",
                str(1024 * n_parallel),
                "-np",
                str(n_parallel),
                "-t",
                str(args.threads),
                "-tb",
                str(args.threads),
                "--no-webui",
                *ngl,
            ],
            port,
        )

    def lcp_server(n_parallel: int) -> tuple[list[str], int]:
        port = free_port()
        return (
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "1024",
                "--n_threads",
                str(args.threads),
                "--n_threads_batch",
                str(args.threads),
                "--n_gpu_layers",
                str(args.n_gpu_layers),
            ],
            port,
        )

    servers = [("llamanet node", ours)]
    if args.llama_server:
        servers.append(("llama-server", theirs))
    if importlib.util.find_spec("sse_starlette") and importlib.util.find_spec("starlette_context"):
        servers.append(("llama-cpp-python server", lcp_server))  # pip install '.[bench]'
    else:
        print("llama-cpp-python's server skipped: pip install '.[bench]' to include it", file=sys.stderr)
    for n in levels:
        # every server of this level runs at once and they take turns, round by round, so a slow
        # spell of the machine hits all of them alike; one loaded at a time, the others idle
        with ExitStack() as stack:
            urls = {}
            for label, make in servers:
                cmd, port = make(n)
                env = beside(cmd[0]) if label == "llama-server" else None
                ready = "/v1/models" if label == "llama-cpp-python server" else "/health"
                urls[label] = stack.enter_context(server(cmd, port, env, ready))
            for url in urls.values():
                asyncio.run(concurrent(url, n, 16, ban))  # warm-up
            if n == 1:
                for label, url in urls.items():
                    single_rows[label] = single(url, args.max_tokens, ban, args.runs)
            rounds: dict[str, list[tuple[float, int, list[float]]]] = {label: [] for label in urls}
            for r in range(args.rounds):
                for label, url in urls.items():
                    rounds[label].append(asyncio.run(concurrent(url, n, args.max_tokens, ban)))
                summary = ", ".join(f"{label} {rs[-1][0]:.1f}" for label, rs in rounds.items())
                print(f"n={n} round {r + 1}/{args.rounds}: {summary} tok/s", file=sys.stderr)
            for label, rs in rounds.items():
                conc_rows[(label, n)] = (
                    statistics.median(x[0] for x in rs),
                    min(x[1] for x in rs),
                    [t for x in rs for t in x[2]],
                )
                conc_rounds[(label, n)] = [x[0] for x in rs]
    # our engine first: a llama-cpp-python Llama alive in the same process slows what runs after it
    engine_rows: dict[int, float] = {}
    if not args.no_in_process:
        for n in levels:
            engine_rows[n] = engine_in_process(path, args.threads, n, args.max_tokens, ban, args.n_gpu_layers)
        single_rows["llama-cpp-python in-process"] = in_process(
            path, args.threads, args.max_tokens, ban, args.runs, args.n_gpu_layers
        )
    if args.json:
        write_json(args.json, name, single_rows, conc_rows, engine_rows)

    base = single_rows.get("llama-server")
    print(
        f"\n### {name}: single stream ({args.max_tokens} tokens, {args.threads} threads, greedy, median of "
        f"{args.runs})\n"
    )
    print("| server | decode tok/s | TTFT ms | vs llama-server |\n|---|---:|---:|---:|")
    for label, r in single_rows.items():
        ratio = f"{r.decode_tps / base.decode_tps:.2f}x" if base else "n/a"
        print(f"| {label} | {r.decode_tps:.1f} | {r.ttft * 1000:.0f} | {ratio} |")
    print(
        f"\n### {name}: concurrent streams ({args.max_tokens} tokens each, median of {args.rounds} rounds)\n"
    )
    print(
        "| server | streams | aggregate tok/s | completed | TTFT p50 ms | TTFT p95 ms | vs llama-server "
        "| per round |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (label, n), (tps, done, ttfts) in conc_rows.items():
        b = conc_rows.get(("llama-server", n))
        ratio = f"{tps / b[0]:.2f}x" if b else "n/a"
        theirs_rounds = conc_rounds.get(("llama-server", n))
        spread = "-"
        if theirs_rounds:
            per_round = [a / t for a, t in zip(conc_rounds[(label, n)], theirs_rounds, strict=True)]
            spread = f"{min(per_round):.2f}-{max(per_round):.2f}x"
        print(
            f"| {label} | {n} | {tps:.1f} | {done}/{n} | {pct(ttfts, 0.5) * 1000:.0f} | "
            f"{pct(ttfts, 0.95) * 1000:.0f} | {ratio} | {spread} |"
        )
    for n, tps in engine_rows.items():
        b = conc_rows.get(("llama-server", n))
        ratio = f"{tps / b[0]:.2f}x" if b else "n/a"
        print(f"| llamanet engine in-process (no HTTP) | {n} | {tps:.1f} | {n}/{n} | - | - | {ratio} | - |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
