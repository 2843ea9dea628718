"""``llamanet check``: the seed's quick check: discovery, every node's /health and compute backend (from
/info), one generation per model."""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from llamanet.cli.swarm_cmd import add_swarm_args, quiet_swarm_logs
from llamanet.client.client import Client
from llamanet.client.errors import ClientError
from llamanet.client.transport import Transport
from llamanet.routing.view import NodeView
from llamanet.settings import Settings
from llamanet.swarm.config import SwarmConfig

DEFAULT_BOOTSTRAP = "localhost:8001"
PROMPT = "Say hello."


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="check that a swarm works end to end",
        description="Discover the swarm, check every node's /health and run one short generation per "
        "model. Prints an OK or FAIL line per check; exits 0 only if everything passed.",
    )
    add_swarm_args(p, default=DEFAULT_BOOTSTRAP)
    p.add_argument("--max-tokens", type=int, default=4, help="tokens per test generation (default 4)")
    p.add_argument(
        "--generate-timeout", type=float, default=60.0, help="seconds per test generation (default 60)"
    )
    p.add_argument("--api-key", dest="api_key", default=None, help="bearer key of the nodes (API_KEY)")
    p.set_defaults(handler=run)


@dataclass
class Report:
    passed: int = 0
    failed: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, ok: bool, what: str, detail: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'OK  ' if ok else 'FAIL'}  {what:<9} {detail}", flush=True)


def run(settings: Settings, args: argparse.Namespace) -> int:
    quiet_swarm_logs(settings)
    report = asyncio.run(_check(args, settings.resolved_api_key()))
    print(f"{report.passed} passed, {report.failed} failed")
    return 0 if report.failed == 0 and report.passed > 0 else 1


async def _health(transport: Transport, node: NodeView, report: Report) -> None:
    label = f"{node.short_id} {node.name or '-'} {node.url}"
    try:
        body = await transport.get_json(node.url, "/health", timeout=10.0)
    except ClientError as exc:
        report.add(False, "health", f"{label}: {exc}")
        return
    report.add(True, "health", f"{label}: {body.get('status') if isinstance(body, dict) else body}")
    try:
        info = await transport.get_json(node.url, "/info", timeout=10.0)
    except ClientError as exc:
        report.add(False, "compute", f"{label}: {exc}")
        return
    report.add(True, "compute", f"{label}: {compute_line(info)}")


def compute_line(info: Any) -> str:
    """A node's backend, devices and GPU layers from its /info: ``cuda, NVIDIA H200 (139.8 GiB), all
    layers``; ``cpu (asked for 20 GPU layers: ...)`` when it found no GPU; ``unknown`` from older nodes."""
    compute = info.get("compute") if isinstance(info, dict) else None
    if not isinstance(compute, dict):
        return "unknown (no compute in /info: model still loading, or an older node)"
    devices = compute.get("devices")
    if not isinstance(devices, list):
        devices = []
    gpus = [d for d in devices if isinstance(d, dict) and d.get("type") in ("gpu", "igpu")]
    backend = str(compute.get("backend", "?"))
    if backend == "cpu" or not gpus:
        note = compute.get("note")
        return f"cpu ({note})" if note else "cpu"
    names = ", ".join(
        f"{d.get('description') or d.get('name')} ({int(d.get('memory_total') or 0) / 2**30:.1f} GiB)"
        for d in gpus
    )
    layers = compute.get("gpu_layers")
    return f"{backend}, {names}, {'all' if layers == -1 else layers} layers on the GPU"


async def _generate(client: Client, model: str, max_tokens: int, report: Report) -> None:
    start = time.monotonic()
    try:
        res = await client.generate(PROMPT, model=model, max_tokens=max_tokens, temperature=0.0)
    except ClientError as exc:
        report.add(False, "generate", f"{model}: {exc}")
        return
    took = time.monotonic() - start
    ok = res.tokens_generated > 0
    report.add(
        ok, "generate", f"{model} on {res.url}: {res.tokens_generated} tokens in {took:.2f}s {res.text!r}"
    )


async def _check(args: argparse.Namespace, api_key: str | None) -> Report:
    report = Report()
    client = Client(
        bootstrap_nodes=args.bootstrap,
        api_key=api_key,
        timeout=args.generate_timeout,
        swarm_config=SwarmConfig(rpc_timeout_s=args.timeout),
    )
    transport = Transport(api_key, timeout=10.0)
    try:
        start = time.monotonic()
        try:
            nodes = await client.get_nodes()
        except ClientError as exc:
            report.add(False, "discovery", f"{args.bootstrap}: {exc}")
            return report
        took = time.monotonic() - start
        report.add(bool(nodes), "discovery", f"{len(nodes)} node(s) via {args.bootstrap} in {took:.2f}s")
        for node in nodes:  # one at a time: the output stays in order and the nodes stay calm
            await _health(transport, node, report)
        for model in sorted({m for n in nodes for m in n.models}):
            await _generate(client, model, args.max_tokens, report)
    finally:
        await transport.close()
        await client.close()
    return report
