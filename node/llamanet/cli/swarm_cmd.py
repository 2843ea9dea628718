"""``llamanet status`` and ``llamanet monitor``: the swarm as the DHT describes it, once or live."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from datetime import datetime

from llamanet.cli import swarm_view
from llamanet.client.discovery import DhtDiscovery
from llamanet.client.errors import DiscoveryError
from llamanet.routing.view import NodeView
from llamanet.settings import Settings
from llamanet.swarm.config import SwarmConfig

CLEAR = "\x1b[H\x1b[2J"


def add_swarm_args(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """The bootstrap address and DHT timeout shared by status, monitor and check."""
    if default is None:
        p.add_argument("bootstrap", metavar="HOST:PORT", help="DHT bootstrap node(s), e.g. localhost:8001")
    else:
        p.add_argument(
            "bootstrap", metavar="HOST:PORT", nargs="?", default=default,
            help=f"DHT bootstrap node(s), comma-separated (default {default})",
        )  # fmt: skip
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for a DHT answer (default 3)")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status",
        help="show the nodes of a swarm",
        description="Look the swarm up through a DHT bootstrap node and print its nodes and models. "
        "Exits 1 when the swarm cannot be reached or has no nodes.",
    )
    add_swarm_args(p)
    p.add_argument("--model", help="only nodes serving this model")
    p.add_argument("--json", action="store_true", help="machine-readable output (the /swarm/nodes shape)")
    p.set_defaults(handler=run_status)

    m = sub.add_parser(
        "monitor",
        help="watch a swarm live",
        description="Redraw the swarm's node table every --interval seconds and report nodes joining "
        "and leaving, until Ctrl-C (or --count refreshes).",
    )
    add_swarm_args(m)
    m.add_argument("--model", help="only nodes serving this model")
    m.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (default 2)")
    m.add_argument(
        "--count", type=int, default=None, help="stop after N refreshes (default: run until Ctrl-C)"
    )
    m.set_defaults(handler=run_monitor)


def quiet_swarm_logs(settings: Settings) -> None:
    """The DHT library logs every lookup at INFO; the table is the output that matters."""
    if settings.log_level != "DEBUG":
        for name in ("llamanet.swarm", "httpx"):
            logging.getLogger(name).setLevel(logging.WARNING)
        for name in ("kademlia", "rpcudp"):  # timeouts are reported by the command itself
            logging.getLogger(name).setLevel(logging.CRITICAL)


def discovery_for(args: argparse.Namespace) -> DhtDiscovery:
    config = SwarmConfig(rpc_timeout_s=args.timeout)
    return DhtDiscovery(args.bootstrap, config, cache_ttl=0.0)


def run_status(settings: Settings, args: argparse.Namespace) -> int:
    quiet_swarm_logs(settings)
    return asyncio.run(_status(args))


async def _status(args: argparse.Namespace) -> int:
    discovery = discovery_for(args)
    try:
        nodes = await discovery.get_nodes(args.model)
    except DiscoveryError as exc:
        print(f"llamanet status: swarm unreachable: {exc}", file=sys.stderr)
        return 1
    finally:
        await discovery.close()
    if args.json:
        print(json.dumps(swarm_view.status_json(nodes, time.time()), indent=2))
    else:
        print(f"swarm via {args.bootstrap}")
        print(swarm_view.render_status(nodes))
    if not nodes:
        what = f" serving {args.model}" if args.model else ""
        print(f"llamanet status: no nodes{what} found", file=sys.stderr)
        return 1
    return 0


def run_monitor(settings: Settings, args: argparse.Namespace) -> int:
    quiet_swarm_logs(settings)
    if args.interval <= 0 or (args.count is not None and args.count < 1):
        print("llamanet monitor: --interval must be > 0 and --count >= 1", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_monitor(args))
    except KeyboardInterrupt:
        return 0


async def _monitor(args: argparse.Namespace) -> int:
    discovery = discovery_for(args)
    tty = sys.stdout.isatty()
    previous: list[NodeView] | None = None
    events: list[str] = []
    refreshes, ok = 0, False
    try:
        while args.count is None or refreshes < args.count:
            if refreshes:
                await asyncio.sleep(args.interval)
            refreshes += 1
            stamp = datetime.now().strftime("%H:%M:%S")
            try:
                nodes = await discovery.get_nodes(args.model, fresh=True)
                ok = True
            except DiscoveryError as exc:
                ok = False
                events.append(f"{stamp} swarm unreachable: {exc}")
                nodes = previous or []
            else:
                if previous is not None:
                    diff = swarm_view.changes(previous, nodes)
                    events += [f"{stamp} + joined {swarm_view.describe(n)}" for n in diff.joined]
                    events += [f"{stamp} - left   {swarm_view.describe(n)}" for n in diff.left]
                previous = nodes
            events = events[-10:]
            frame = [
                f"llamanet monitor: {args.bootstrap} at {stamp} (every {args.interval:g}s, Ctrl-C to stop)"
            ]
            frame.append(swarm_view.render_status(nodes) if ok else "(swarm unreachable)")
            if events:
                frame += ["", "events:", *(f"  {e}" for e in events)]
            print((CLEAR if tty else "") + "\n".join(frame) + ("" if tty else "\n"), flush=True)
    finally:
        await discovery.close()
    return 0 if ok else 1
