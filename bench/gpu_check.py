"""The checks and measurements of scripts/gpu-check.sh, after its build: one run, one report.

1. random-weight models with SmolLM2's tokenizer (tests/randmodel.py): on a GPU ``llama-8b`` (Llama-3-8B's
   body, Q4_0, 3.8 GiB), then ``smollm2-135m`` (its own shape, Q8_0) when enough time is left; on CPU the
   small one only;
2. per model, a node with ``N_GPU_LAYERS=-1``: ``/info`` must report the cuda backend with every layer
   asked for (``--cpu``: the cpu backend), and a chat completion streamed through the OpenAI SDK must
   arrive;
3. VRAM: the GPU memory each server holds (the node alone, then llama-server alone; 8 slots each);
4. bench/node_throughput.py per model against llama-server built from the same tree, all layers on the
   GPU: single-stream decode tokens/s and TTFT, 8 concurrent streams' aggregate tokens/s.

Writes ``results.json`` and ``results.md`` (the tables for docs/benchmarks.md) to ``--out``.

    python bench/gpu_check.py --llama-server PATH --tokenizer tokenizer.gguf --models DIR --out DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import randmodel
from tests.nodeproc import free_port
from tests.randmodel import write_random_llama

from bench.node_throughput import beside, node_command, server

BAN = '{"0": -100.0, "2": -100.0}'  # SmolLM2's end-of-generation tokens, so every stream runs its length
SERVERS = ("llamanet node", "llama-server")
QUICK_BELOW = 300  # seconds left under which the bench runs one round of each, 64 tokens
GENERATOR = hashlib.sha256(Path(randmodel.__file__).read_bytes()).hexdigest()[:8]


def vram_used_mib() -> int | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
        return int(out.split()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def settle_vram() -> int | None:
    time.sleep(1.0)
    return vram_used_mib()


def stream_chat(url: str, model: str) -> dict[str, Any]:
    """A chat completion streamed through the OpenAI SDK: chunks, text length, finish reason."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=120)
    t0 = time.perf_counter()
    chunks, text, finish, first = 0, "", None, None
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Tell me about the printing press."}],
        max_tokens=48,
        temperature=0,
        stream=True,
        logit_bias={"0": -100, "2": -100},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter() - t0
            chunks += 1
            text += chunk.choices[0].delta.content
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    return {"chunks": chunks, "chars": len(text), "finish_reason": finish, "ttft_s": first}


def check_node(model: Path, cpu: bool) -> tuple[dict[str, Any], list[str]]:
    """A node on every GPU layer, 8 slots: /info, an OpenAI stream, its VRAM. Returns (facts, failures)."""
    cmd, port = node_command(model, 8, os.cpu_count() or 2)
    base = settle_vram()
    failures: list[str] = []
    with server(cmd, port, {"N_GPU_LAYERS": "-1"}) as url:
        info = httpx.get(f"{url}/info", timeout=10).json()
        compute = info.get("compute") or {}
        want = "cpu" if cpu else "cuda"
        if compute.get("backend") != want:
            failures.append(f"/info compute backend is {compute.get('backend')!r}, not {want!r}: {compute}")
        if not cpu and compute.get("gpu_layers") != -1:
            failures.append(f"/info gpu_layers is {compute.get('gpu_layers')}, not -1 (all layers)")
        chat = stream_chat(url, str(info.get("model") or model.stem))
        if chat["chunks"] < 2 or chat["finish_reason"] != "length":
            failures.append(f"the OpenAI stream: {chat}")
        used = settle_vram()
    facts = {"compute": compute, "stream": chat, "vram_mib": _delta(used, base)}
    return facts, failures


def llama_server_vram(binary: Path, model: Path) -> tuple[int | None, str]:
    """llama-server alone on the same model, all layers, 8 slots of 1024: its VRAM and offload line."""
    port = free_port()
    cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-c", "8192"]
    cmd += ["-np", "8", "-ngl", "999", "--no-webui"]
    base = settle_vram()
    with server(cmd, port, beside(binary)) as url:
        httpx.post(f"{url}/v1/completions", json={"prompt": "Hi", "max_tokens": 8}, timeout=120)
        used = settle_vram()
    log = Path(tempfile.gettempdir()) / f"bench-{binary.name}-{port}.log"  # where server() wrote it
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    return _delta(used, base), next((ln.strip() for ln in lines if "offloaded" in ln), "")


def _delta(used: int | None, base: int | None) -> int | None:
    return used - base if used is not None and base is not None else None


def bench(
    model: Path, binary: Path, out: Path, cpu: bool, quick: bool, seconds: float
) -> dict[str, Any] | None:
    """bench/node_throughput.py on this model; None when it failed or ran past ``seconds`` (then it is
    stopped with every server it started, so what was measured before still gets written)."""
    dst = out / f"bench-{model.stem}.json"
    cmd = [sys.executable, str(Path(__file__).with_name("node_throughput.py")), "--model", str(model)]
    cmd += ["--llama-server", str(binary), "--concurrency", "1,8", "--ban", BAN, "--json", str(dst)]
    cmd += ["--rounds", "1" if quick else "3", "--runs", "1" if quick else "3"]
    cmd += ["--max-tokens", "32" if cpu else "64" if quick else "128"]
    if not cpu:
        cmd += ["--n-gpu-layers", "-1"]
    if quick:
        cmd += ["--no-in-process"]
    print(f"$ {' '.join(cmd)}  (at most {seconds:.0f} s)", flush=True)
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        rc = proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        print(f">> bench: stopped after {seconds:.0f} s", flush=True)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None
    return json.loads(dst.read_text()) if rc == 0 and dst.is_file() else None


def markdown(results: dict[str, Any]) -> str:
    lines = [f"GPU check: {results['gpu'] or 'no GPU (CPU rehearsal)'}, {results['when']}", ""]
    lines += ["| model | server | 1 stream tok/s | TTFT ms | 8 streams tok/s | TTFT p50 ms (8) | VRAM MiB |"]
    lines += ["|---|---|---:|---:|---:|---:|---:|"]
    for name, m in results["models"].items():
        b = m.get("bench") or {}
        for label in SERVERS:
            one = b.get("single", {}).get(label, {})
            eight = next(
                (c for c in b.get("concurrent", []) if c["server"] == label and c["streams"] == 8), {}
            )
            vram = m.get("vram_mib", {}).get(label)
            tps1, ttft1 = one.get("decode_tokens_per_s", 0), one.get("ttft_s", 0) * 1000
            tps8, ttft8 = eight.get("tokens_per_s", 0), eight.get("ttft_p50_s", 0) * 1000
            vram_s = "-" if vram is None else str(vram)
            lines.append(
                f"| {name} | {label} | {tps1:.1f} | {ttft1:.0f} | {tps8:.1f} | {ttft8:.0f} | {vram_s} |"
            )
    lines += ["", "Failures: " + ("; ".join(results["failures"]) or "none")]
    if results["skipped"]:
        lines += ["Not measured: " + "; ".join(results["skipped"])]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-server", type=Path, required=True)
    ap.add_argument("--tokenizer", type=Path, required=True, help="tests/randmodel.py header")
    ap.add_argument("--models", type=Path, required=True, help="where the random-weight models go")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=480, help="time left: a second model needs ~150 s")
    ap.add_argument("--cpu", action="store_true", help="no GPU: the CPU rehearsal (small model, short runs)")
    args = ap.parse_args()
    t0 = time.monotonic()
    gpu = None
    if not args.cpu:
        gpu = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    results: dict[str, Any] = {"gpu": gpu, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    results |= {"models": {}, "failures": [], "skipped": []}
    # on a GPU the 8B body first (the numbers that matter), the small one (per-token overhead) if time is left
    shapes = ["smollm2-135m"] if args.cpu else ["llama-8b", "smollm2-135m"]
    for i, shape in enumerate(shapes):
        left = args.seconds - (time.monotonic() - t0)
        if i > 0 and left < 150:
            print(f">> {shape}: left out, {left:.0f} s left", flush=True)
            results["skipped"].append(f"{shape}: {left:.0f} s left")
            break
        path = args.models / f"random-{shape}-{GENERATOR}.gguf"  # a rerun reuses it; a new generator not
        s = time.monotonic()
        if not path.is_file():
            write_random_llama(args.tokenizer, shape, path)
        print(
            f">> {shape}: {path.stat().st_size / 2**20:.0f} MiB in {time.monotonic() - s:.1f} s", flush=True
        )
        m: dict[str, Any] = {"file_mib": round(path.stat().st_size / 2**20)}
        facts, failures = check_node(path, args.cpu)
        print(f">> node: {json.dumps(facts)}", flush=True)
        results["failures"] += [f"{shape}: {f}" for f in failures]
        m["node"] = facts
        if not args.cpu:
            ls_vram, offload = llama_server_vram(args.llama_server, path)
            m["vram_mib"] = {"llamanet node": facts["vram_mib"], "llama-server": ls_vram}
            m["llama_server_offload"] = offload
            print(f">> VRAM: {m['vram_mib']}; llama-server: {offload}", flush=True)
        left = args.seconds - (time.monotonic() - t0)
        quick = args.cpu or left < QUICK_BELOW
        m["bench"] = bench(path, args.llama_server, args.out, args.cpu, quick, max(left - 15, 30))
        if m["bench"] is None:
            results["failures"].append(f"{shape}: bench/node_throughput.py failed")
        results["models"][shape] = m
        (args.out / "results.json").write_text(json.dumps(results, indent=1))
        (args.out / "results.md").write_text(markdown(results))
    print(markdown(results), flush=True)
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
