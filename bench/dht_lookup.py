"""DHT lookup benchmark: latency p50/p99 and hops with N in-process SwarmNodes on 127.0.0.1.

Usage: PYTHONPATH=node python bench/dht_lookup.py --sizes 10,100,500 [--queries 50] [--budget-s 240]

Every node runs in one event loop (one CPU core does all the work, so latencies include queueing
behind other nodes' handling: a pessimistic upper bound compared with one node per machine). Each size
stops by itself after ``--budget-s`` seconds. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from dataclasses import dataclass

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.keys import ALL_NODES_KEY, model_key, node_key
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.storage import StorageCaps
from llamanet.swarm.validation import RecordLimits
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields

HOST = "127.0.0.1"
MODELS = [f"model-{i}" for i in range(5)]
CONFIG = SwarmConfig(
    heartbeat_interval_s=3600.0,  # one publish at start; the bench must not measure republish traffic
    limits=RecordLimits(max_ttl_s=1200.0),
    rpc_timeout_s=2.0,
    # every node is on 127.0.0.1: lift the per-address limits a real network needs
    max_contacts_per_ip=100_000,
    caps=StorageCaps(max_entries_per_source=100_000),
)


@dataclass
class Result:
    size: int
    startup_s: float
    node_p50_ms: float
    node_p99_ms: float
    node_hops: float
    node_found: float
    model_p50_ms: float
    model_p99_ms: float
    model_complete: float
    all_nodes_seen: int
    visible_p50_s: float
    visible_max_s: float


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def fields_for(index: int) -> RecordFields:
    return RecordFields(urls=[f"http://{HOST}:{9000 + index}"], models=[MODELS[index % len(MODELS)]])


async def start_node(index: int, bootstrap: list[str]) -> SwarmNode:
    fields = fields_for(index)
    node = SwarmNode(NodeIdentity.generate(), CONFIG, record_factory=lambda: fields)
    await node.start(HOST, 0, bootstrap)
    return node


async def build_swarm(size: int, batch: int = 10) -> list[SwarmNode]:
    nodes = [await start_node(0, [])]
    while len(nodes) < size:
        count = min(batch, size - len(nodes))
        peers = [f"{HOST}:{random.choice(nodes).dht_port}" for _ in range(count)]
        nodes += await asyncio.gather(*(start_node(len(nodes) + i, [peers[i]]) for i in range(count)))
    # One heartbeat round, as a live swarm gets every interval: records published while the swarm
    # was still small move to the peers that are closest to their keys now.
    for first in range(0, size, batch):
        await asyncio.gather(
            *(nodes[i].publish(fields_for(i)) for i in range(first, min(size, first + batch)))
        )
    return nodes


async def measure(size: int, queries: int, samples: int) -> Result:
    t0 = time.perf_counter()
    nodes = await build_swarm(size)
    startup = time.perf_counter() - t0  # including the one republish round
    rng = random.Random(size)
    try:
        node_ms, hops, found = [], [], 0
        for _ in range(queries):
            reader, target = rng.choice(nodes), rng.choice(nodes)
            start = time.perf_counter()
            lookup = await reader.server.lookup(node_key(target.node_id))
            node_ms.append((time.perf_counter() - start) * 1000)
            hops.append(lookup.rounds)
            found += any(r.node_id == target.node_id for r in lookup.records)
        model_ms, complete = [], 0
        for _ in range(max(5, queries // 5)):
            model = rng.choice(MODELS)
            expected = {n.node_id for i, n in enumerate(nodes) if MODELS[i % len(MODELS)] == model}
            start = time.perf_counter()
            lookup = await rng.choice(nodes).server.lookup(model_key(model))
            model_ms.append((time.perf_counter() - start) * 1000)
            complete += {r.node_id for r in lookup.records} == expected
        all_nodes = len((await rng.choice(nodes).server.lookup(ALL_NODES_KEY)).records)

        # Time until a freshly started node is visible (node:{id} lookup) from sampled nodes.
        t_new = time.perf_counter()
        newcomer = await start_node(size, [f"{HOST}:{rng.choice(nodes).dht_port}"])
        nodes.append(newcomer)

        async def seen_by(observer: SwarmNode) -> float:
            while not any(
                r.node_id == newcomer.node_id
                for r in (await observer.server.lookup(node_key(newcomer.node_id))).records
            ):
                await asyncio.sleep(0.05)
            return time.perf_counter() - t_new

        visible = await asyncio.gather(*(seen_by(o) for o in rng.sample(nodes[:-1], min(samples, size))))
        return Result(
            size=size,
            startup_s=startup,
            node_p50_ms=pct(node_ms, 50),
            node_p99_ms=pct(node_ms, 99),
            node_hops=statistics.mean(hops),
            node_found=found / queries,
            model_p50_ms=pct(model_ms, 50),
            model_p99_ms=pct(model_ms, 99),
            model_complete=complete / len(model_ms),
            all_nodes_seen=all_nodes,
            visible_p50_s=pct(list(visible), 50),
            visible_max_s=max(visible),
        )
    finally:
        for node in nodes:
            await node.stop(withdraw=False)


def table(results: list[Result]) -> str:
    lines = [
        "| nodes | swarm start (s) | `node:` p50 (ms) | `node:` p99 (ms) | hops (rounds) | found | "
        "`model:` p50 (ms) | `model:` p99 (ms) | model sets complete | `all_nodes` size | "
        "new node visible p50 / max (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.size} | {r.startup_s:.1f} | {r.node_p50_ms:.1f} | {r.node_p99_ms:.1f} | "
            f"{r.node_hops:.1f} | "
            f"{r.node_found:.0%} | {r.model_p50_ms:.1f} | {r.model_p99_ms:.1f} | {r.model_complete:.0%} | "
            f"{r.all_nodes_seen} | {r.visible_p50_s:.2f} / {r.visible_max_s:.2f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--samples", type=int, default=10, help="observers for the new-node visibility time")
    parser.add_argument("--budget-s", type=float, default=240.0, help="give up on a size after this long")
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        try:
            results.append(await asyncio.wait_for(measure(size, args.queries, args.samples), args.budget_s))
        except TimeoutError:
            print(f"size {size}: gave up after {args.budget_s:.0f}s")
        print(f"done: {size} nodes", flush=True)
    print(table(results))


if __name__ == "__main__":
    asyncio.run(main())
