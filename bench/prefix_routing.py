"""Prefix reuse on one node and prefix-aware routing across a swarm, against llama-server.

Part 1, one node (``--slots`` 8, ``--threads`` 2): each round a new ~1100-token system prompt; a cold
burst of 8 chats arriving at the same moment (about 32 new tokens each), then a warm burst of 8 other
chats on the same prompt. Our node, llama-server with its defaults and llama-server ``--kv-unified``
(``-np 8``, the same context per slot) take turns in each round.

Part 2, the multi-tenant workload on ``--nodes`` servers (``--swarm-slots`` 4 each, ``--swarm-threads``
1 each, so the servers share the cores evenly): ``--tenants`` tenants, each with its own ~1100-token
system prompt (new each round), ``--users`` conversations per tenant, all started at once, of
``--turns`` turns each (a turn's history: the answers it got, plus a new question). Compared: the swarm
(nodes joined over the DHT) with prefix-aware routing (the hash and the bounded load); the same with
``--prefix-holdings on`` (each node publishing the chats it holds); with ``--prefix-routing off``;
and as many llama-servers, defaults and ``--kv-unified``. Every system sits behind the same round-robin
TCP proxy (what a Kubernetes Service gives): a swarm node routes the requests it receives by prefix.

The tables give TTFT p50/p95 over all requests of all rounds, aggregate tokens/s (median over the
rounds; completion tokens / wall time), prompt tokens evaluated (prompt - cached, where the server
reports cached tokens) and the ratios to llama-server's defaults, round by round (median and range:
the machine's speed drifts between rounds, so pooled figures mix fast and slow spells). Every answer
has exactly ``max_tokens`` tokens (end-of-generation tokens banned), greedy.

    python bench/prefix_routing.py --llama-server "$(bench/build_llama_server.sh)" [--rounds 3]
        [--swarm-rounds 2] [--tenants 4] [--users 2] [--turns 4] [--parts burst,swarm]
    (without --llama-server: our node against itself with --prefix-cache off, prefix routing against
    prefix-blind)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.nodeproc import NodeProcess, free_port

from bench.chatload import Tally, burst, conversations, pct, system_prompt, user_message
from bench.node_throughput import beside, server
from bench.rrproxy import RoundRobinProxy
from llamanet.models.cache import ModelCache
from llamanet.settings import Settings

BASE = "llama-server"
OFF = ("--prefix-cache", "off")  # every slot evaluates every prompt in full: the reference without reuse
Load = Callable[[str, int], Coroutine[Any, Any, Tally]]  # (url, round) -> what the system did


def llama_server(binary: str, model: Path, slots: int, n_ctx: int, threads: int, *extra: str) -> list[str]:
    port = free_port()
    cmd = [binary, "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-c", str(n_ctx * slots)]
    return [*cmd, "-np", str(slots), "-t", str(threads), "-tb", str(threads), "--no-webui", *extra]


@contextmanager
def llama_servers(cmds: list[list[str]]) -> Iterator[list[tuple[str, int]]]:
    with ExitStack() as stack:
        env = beside(cmds[0][0])
        ports = [int(c[c.index("--port") + 1]) for c in cmds]
        for cmd, port in zip(cmds, ports, strict=True):
            stack.enter_context(server(cmd, port, env))
        yield [("127.0.0.1", p) for p in ports]


@contextmanager
def swarm(model: str, logs: Path, n: int, *flags: str, name: str) -> Iterator[list[tuple[str, int]]]:
    """``n`` nodes, the first the others' DHT bootstrap; yields once each knows all the others."""
    nodes: list[NodeProcess] = []
    try:
        for i in range(n):
            boot = ("--bootstrap-nodes", f"127.0.0.1:{nodes[0].dht_port}") if nodes else ()
            hb = ("--heartbeat-interval", "1", "--log-level", "WARNING")
            nodes.append(NodeProcess(model, logs, *flags, *hb, *boot, name=f"{name}{i}").start())
        ids = {httpx.get(f"{x.url}/status", timeout=10).json()["node_id"] for x in nodes}
        deadline = time.monotonic() + 120
        while n > 1 and not all(
            {v["node_id"] for v in httpx.get(f"{x.url}/swarm/nodes", timeout=10).json()["nodes"]} >= ids
            for x in nodes
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("the swarm's nodes never saw each other")
            time.sleep(0.5)
        yield [("127.0.0.1", x.port) for x in nodes]
    finally:
        for x in nodes:
            x.stop()


def run_rounds(systems: dict[str, str], loads: dict[str, Load], rounds: int) -> dict[str, list[Tally]]:
    """Each round every system runs each load; the order of the systems rotates round by round."""
    out: dict[str, list[Tally]] = {f"{s}|{w}": [] for s in systems for w in loads}
    labels = list(systems)
    for r in range(rounds):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        for label in order:
            for what, load in loads.items():
                tally = asyncio.run(load(systems[label], r))
                out[f"{label}|{what}"].append(tally)
                print(
                    f"round {r + 1}/{rounds} {label} {what}: TTFT p50 "
                    f"{pct([x.ttft for x in tally.replies], 0.5):.2f} s, {tally.tokens_per_s:.1f} tok/s",
                    file=sys.stderr,
                )
    return out


def p50(t: Tally) -> float:
    return pct([x.ttft for x in t.replies], 0.5)


def ratios(ours: list[Tally], ref: list[Tally], of: Callable[[Tally], float]) -> str:
    """The median of the rounds' ratios and their range: each round against the same round's base."""
    rs = [of(a) / of(b) if of(b) else 0.0 for a, b in zip(ours, ref, strict=True)]
    return f"{statistics.median(rs):.2f}x ({min(rs):.2f}-{max(rs):.2f})"


def table(title: str, results: dict[str, list[Tally]], base: str) -> None:
    print(f"\n### {title}\n")
    print(
        "| system | load | TTFT p50 s | TTFT p95 s | tok/s | evaluated / prompt tokens | TTFT p50 vs "
        f"{base}, per round | tok/s vs {base}, per round |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for key, tallies in results.items():
        label, what = key.split("|")
        ttfts = [x.ttft for t in tallies for x in t.replies]
        tps = statistics.median(t.tokens_per_s for t in tallies)
        prompt = sum(x.prompt_tokens for t in tallies for x in t.replies)
        evaluated = prompt - sum(x.cached_tokens for t in tallies for x in t.replies)
        ref = results.get(f"{base}|{what}")
        r_ttft = ratios(tallies, ref, p50) if ref else "-"
        r_tps = ratios(tallies, ref, lambda t: t.tokens_per_s) if ref else "-"
        print(
            f"| {label} | {what} | {pct(ttfts, 0.5):.2f} | {pct(ttfts, 0.95):.2f} | {tps:.1f} | "
            f"{evaluated} / {prompt} | {r_ttft} | {r_tps} |"
        )


def servers(args: argparse.Namespace) -> list[tuple[str, tuple[str, ...]]]:
    """The llama-server variants compared: none without ``--llama-server``."""
    return [(BASE, ()), (f"{BASE} --kv-unified", ("--kv-unified",))] if args.llama_server else []


def part_burst(args: argparse.Namespace, path: Path, logs: Path) -> None:
    n_ctx = 2048
    ours = ("--n-ctx", str(n_ctx), "--n-parallel", str(args.slots), "--n-threads", str(args.threads))
    users = [user_message(i) for i in range(2 * args.slots)]
    prompts: dict[int, str] = {}

    def prompt(r: int) -> str:
        return prompts.setdefault(r, system_prompt(f"Session {r} of {os.getpid()}"))

    async def cold(url: str, r: int) -> Tally:
        return await burst(url, args.model, prompt(r), users[: args.slots], args.max_tokens)

    async def warm(url: str, r: int) -> Tally:
        return await burst(url, args.model, prompt(r), users[args.slots :], args.max_tokens)

    with ExitStack() as stack:
        systems = {}
        variants: list[tuple[str, tuple[str, ...]]] = [("llamanet node", ()), ("llamanet node", OFF)]
        for label, extra in variants:
            ((host, port),) = stack.enter_context(swarm(args.model, logs, 1, *ours, *extra, name="burst"))
            systems[" ".join((label, *extra))] = f"http://{host}:{port}"
        for label, extra in servers(args):
            cmd = llama_server(args.llama_server, path, args.slots, n_ctx, args.threads, *extra)
            (addr,) = stack.enter_context(llama_servers([cmd]))
            systems[label] = f"http://{addr[0]}:{addr[1]}"
        results = run_rounds(systems, {"cold burst": cold, "warm burst": warm}, args.rounds)
    table(
        f"One node, {args.slots} slots, {args.threads} threads: bursts of {args.slots} chats on a new "
        f"~1100-token system prompt, {args.max_tokens} tokens each ({args.rounds} rounds)",
        results,
        BASE if args.llama_server else "llamanet node --prefix-cache off",
    )


def part_swarm(args: argparse.Namespace, path: Path, logs: Path) -> None:
    n, slots, threads = args.nodes, args.swarm_slots, args.swarm_threads
    flags = ("--n-ctx", "2048", "--n-parallel", str(slots), "--n-threads", str(threads))

    async def tenants(url: str, r: int) -> Tally:
        systems = [
            system_prompt(f"Tenant {t}, round {r} of {os.getpid()}", shop=t) for t in range(args.tenants)
        ]
        return await conversations(url, args.model, systems, args.users, args.turns, args.turn_tokens)

    proxies: list[RoundRobinProxy] = []
    with ExitStack() as stack:
        setups = {
            "swarm, prefix routing": stack.enter_context(swarm(args.model, logs, n, *flags, name="pfx")),
            "swarm, prefix routing, holdings on": stack.enter_context(
                swarm(args.model, logs, n, *flags, "--prefix-holdings", "on", name="held")
            ),
            "swarm, prefix-blind": stack.enter_context(
                swarm(args.model, logs, n, *flags, "--prefix-routing", "off", name="blind")
            ),
        }
        for label, extra in servers(args):
            cmds = [llama_server(args.llama_server, path, slots, 2048, threads, *extra) for _ in range(n)]
            setups[label] = stack.enter_context(llama_servers(cmds))
        systems = {}
        for label, backends in setups.items():
            proxies.append(RoundRobinProxy(backends).start())
            stack.callback(proxies[-1].stop)
            systems[label] = proxies[-1].url
        results = run_rounds(systems, {"multi-tenant": tenants}, args.swarm_rounds)
        forwarded = [
            x for t in results["swarm, prefix routing|multi-tenant"] for x in t.replies if x.served_by
        ]
    table(
        f"{n} servers of {slots} slots, {threads} thread(s) each, behind a round-robin proxy: {args.tenants} "
        f"tenants x {args.users} conversations x {args.turns} turns, {args.turn_tokens} tokens a turn "
        f"({args.swarm_rounds} rounds)",
        results,
        BASE if args.llama_server else "swarm, prefix-blind",
    )
    print(f"\nprefix routing: {len(forwarded)} requests forwarded by the entry node to another node")
    by_turn(results)


def by_turn(results: dict[str, list[Tally]]) -> None:
    """Where the time goes: TTFT p50 and prompt tokens evaluated, first turns against the later ones;
    the later turns' TTFT split by the serving node's ``timings``: waiting for a slot, evaluating the
    prompt, and the rest (routing, HTTP, the first token's decode)."""
    print(
        "\n| system | first turns: TTFT p50 s | evaluated / prompt "
        "| later turns: TTFT p50 s | evaluated / prompt | later: queue p50 s | prompt p50 s | rest p50 s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, tallies in results.items():
        cells = []
        for first in (True, False):
            rs = [x for t in tallies for x in t.replies if (x.turn == 0) == first]
            prompt = sum(x.prompt_tokens for x in rs)
            cells += [
                f"{pct([x.ttft for x in rs], 0.5):.2f}",
                f"{prompt - sum(x.cached_tokens for x in rs)} / {prompt}",
            ]
        later = [x for t in tallies for x in t.replies if x.turn > 0 and x.prompt_time is not None]
        queue = [x.queue for x in later if x.queue is not None]
        rest = [x.ttft - (x.queue or 0.0) - (x.prompt_time or 0.0) for x in later]
        cells += [
            f"{pct(queue, 0.5):.2f}" if queue else "-",
            f"{pct([x.prompt_time or 0.0 for x in later], 0.5):.2f}" if later else "-",
            f"{pct(rest, 0.5):.2f}" if later else "-",
        ]
        print(f"| {key.split('|')[0]} | " + " | ".join(cells) + " |")
    for key, tallies in results.items():
        sent = [x.ttft for t in tallies for x in t.replies if x.served_by]
        if sent:
            here = [x.ttft for t in tallies for x in t.replies if not x.served_by]
            print(
                f"{key.split('|')[0]}: TTFT p50 {pct(sent, 0.5):.2f} s for the {len(sent)} forwarded, "
                f"{pct(here, 0.5):.2f} s for the {len(here)} served by the node they reached"
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument(
        "--llama-server", help="llama-server binary (bench/build_llama_server.sh); none: no such rows"
    )
    ap.add_argument("--parts", default="burst,swarm")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the one-node bursts")
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--max-tokens", type=int, default=16, help="tokens per answer in the bursts")
    ap.add_argument("--swarm-rounds", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--swarm-slots", type=int, default=4)
    ap.add_argument("--swarm-threads", type=int, default=None, help="default: the cores / --nodes")
    ap.add_argument("--tenants", type=int, default=4)
    ap.add_argument("--users", type=int, default=2, help="conversations per tenant")
    ap.add_argument("--turns", type=int, default=4)
    ap.add_argument("--turn-tokens", type=int, default=24, help="tokens per answer in the conversations")
    args = ap.parse_args()
    path, args.model = ModelCache(Settings().models_dir).resolve(args.model)
    args.swarm_threads = args.swarm_threads or max(1, (os.cpu_count() or 2) // args.nodes)
    logs = Path(tempfile.mkdtemp(prefix="bench-prefix-routing-"))
    print(f"node logs: {logs}", file=sys.stderr)
    t0 = time.monotonic()
    if "burst" in args.parts:
        part_burst(args, path, logs)
    if "swarm" in args.parts:
        part_swarm(args, path, logs)
    print(f"\n({time.monotonic() - t0:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
