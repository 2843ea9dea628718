"""DHT under attack: lookup success, hops and RPCs with 20 % hostile in-process nodes, defences on vs off.

Usage: PYTHONPATH=common:node python bench/dht_hostile.py [--nodes 500] [--hostile-fraction 0.2]
       [--lookups 200] [--seed 1] [--json artifacts/dht_hostile.json]

Two swarms of the same plan (same keys, loopback addresses, roles, attacks and lookups): honest nodes 8
to an address on 127.0.1.x.., hostile ones on a few addresses of their own. In the "on" swarm every node
runs the current swarm code; in the "off" swarm the defences of issue #14 are switched off in every node
(``bench/dht_defences_off.py`` says exactly which). The hostile nodes are sybil storers, bogus-contact
peers and replayers (``bench/dht_attackers.py``). By default each swarm runs in its own process, side by
side (``--swarm both``: two cores, the same machine noise for both); ``--swarm interleaved`` runs both in
this process with the lookups in alternating rounds; ``on``/``off`` runs one. Prints progress lines and a
markdown table, and writes every number to ``--json``. Results and method: docs/dht-benchmark.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dht_defences_off import install_switch
from bench.dht_hostile_report import Plan, Swarm, lookup_summary, table
from bench.dht_hostile_swarm import MODELS, bench, config, identity, progress


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add("--nodes", type=int, default=500)
    add("--hostile-fraction", type=float, default=0.2)
    add("--late-fraction", type=float, default=0.1, help="honest nodes joining after the attack")
    add("--lookups", type=int, default=200, help="per swarm; every 5th a model: lookup")
    add("--swarm", choices=["both", "interleaved", "on", "off"], default="both")
    add("--rounds", type=int, default=4, help="lookup rounds (alternating with --swarm interleaved)")
    add("--concurrency", type=int, default=12, help="lookups in flight per swarm")
    add("--seed", type=int, default=1)
    add("--rpc-timeout", type=float, default=2.0, help="SwarmConfig.rpc_timeout_s")
    add("--lookup-timeout", type=float, default=60.0, help="a lookup slower than this failed")
    add("--attacked-models", type=int, default=2, help=f"of the {len(MODELS)} model keys, flooded by sybils")
    add("--sybil-keys", type=int, default=300, help="fresh keys across all sybil storers")
    add("--poison-ids", type=int, default=10, help="invented ids each bogus peer pings with")
    add("--poison-targets", type=int, default=60, help="honest nodes each bogus peer pings")
    add("--capture-lookups", type=int, default=20, help="lookups whose requests are captured")
    add("--capture", type=int, default=40, help="frames each replayer captures")
    add("--replays", type=int, default=5, help="copies of a frame sent to its destination")
    add("--budget-s", type=float, default=3600.0, help="give up after this long")
    add("--json", default="artifacts/dht_hostile.json", help="where to write every number")
    return parser.parse_args(argv)


async def run_here(args: argparse.Namespace, labels: list[str]) -> dict[str, Any]:
    """Run the swarms named in ``labels`` in this process; their summaries by label."""
    install_switch()
    plan = Plan.make(
        args.nodes, args.hostile_fraction, args.late_fraction, MODELS, random.Random(args.seed), identity
    )
    progress(f"plan: {plan.describe()}")
    swarms = [Swarm(label, plan, config(label == "on", args.rpc_timeout)) for label in labels]
    try:
        await asyncio.wait_for(bench(args, swarms), args.budget_s)
    except TimeoutError:
        print(f"gave up after {args.budget_s:.0f}s (the progress lines say how far it got)", flush=True)
        raise SystemExit(1) from None
    finally:
        for swarm in swarms:
            await swarm.stop()
    attacked = set(MODELS[: args.attacked_models])
    summaries: dict[str, Any] = {s.label: {**s.stats, **lookup_summary(s, attacked)} for s in swarms}
    return {"plan": asdict(plan.counts()), **summaries}


def side_by_side(argv: list[str], out: Path) -> dict[str, Any]:
    """Both swarms at once, each in a child process of its own (this script with ``--swarm on|off``)."""
    children = []
    for label in ("on", "off"):
        part = out.with_suffix(f".{label}.json")
        cmd = [sys.executable, __file__, *argv, "--swarm", label, "--json", str(part)]
        children.append((label, part, subprocess.Popen(cmd)))
    merged: dict[str, Any] = {}
    for label, part, child in children:
        if child.wait() != 0:
            raise SystemExit(f"the {label!r} swarm failed (exit {child.returncode})")
        merged.update(json.loads(part.read_text()))
        part.unlink()
    return merged


def main() -> None:
    argv = sys.argv[1:]
    args = parse(argv)
    logging.disable(logging.ERROR)  # kademlia and rpcudp log every timeout: thousands here
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.swarm == "both":
        result = side_by_side(strip_values(argv), out)
    else:
        labels = ["on", "off"] if args.swarm == "interleaved" else [args.swarm]
        result = asyncio.run(run_here(args, labels))
    result["args"] = vars(args)
    out.write_text(json.dumps(result, indent=1))
    if args.swarm in ("both", "interleaved"):
        print(table({k: result[k] for k in ("on", "off")}))
    progress(f"wrote {out}")


def strip_values(argv: list[str]) -> list[str]:
    """``argv`` without ``--swarm``/``--json`` and their values (``--opt value`` or ``--opt=value``)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--swarm", "--json"):
            skip = True
            continue
        if arg.startswith(("--swarm=", "--json=")):
            continue
        kept.append(arg)
    return kept


if __name__ == "__main__":
    main()
