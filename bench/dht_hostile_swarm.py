"""One run of ``bench/dht_hostile.py`` in this process: build each swarm of the plan, attack it, run the
lookup workload (in interleaved rounds when there are two swarms), replay captured frames, and count."""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import random
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kademlia.utils import digest

from bench.dht_attackers import (
    Replayer,
    Tap,
    closest_peers,
    flood,
    garbage_records,
    make_bogus,
    near_ids,
    poison,
    sybil_records,
)
from bench.dht_defences_off import BenchConfig
from bench.dht_hostile_report import Plan, Swarm, census, pollution
from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.keys import model_key, node_key
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.protocol import SwarmProtocol
from llamanet.swarm.validation import RecordLimits
from llamanet_common.identity import NodeIdentity

MODELS = [f"model-{i}" for i in range(5)]
MAX_TTL_S = 1200.0  # what storing peers accept; sybils use all of it, honest records 900 s
T0 = time.perf_counter()
# nodes publishing at once: each has 3 keys x 20 stores in flight, and on a starved CPU a deep queue
# turns into RPC timeouts (lost stores) rather than speed
PUBLISH_BATCH = 4
# (RPCs, failed RPCs) of the lookup running in this task
_rpcs: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("bench_rpcs", default=None)


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f}s] {message}", flush=True)


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def spent(stats: dict[str, Any], phase: str, since: tuple[float, float]) -> None:
    """Add the wall and CPU seconds since ``since`` to ``{phase}_s`` and ``{phase}_cpu_s``: on a shared
    machine the CPU seconds are what the phase costs, the wall seconds what it took."""
    wall, cpu = clock()
    stats[f"{phase}_s"] = stats.get(f"{phase}_s", 0.0) + wall - since[0]
    stats[f"{phase}_cpu_s"] = stats.get(f"{phase}_cpu_s", 0.0) + cpu - since[1]


def config(defences: bool, rpc_timeout_s: float) -> SwarmConfig:
    return BenchConfig(
        defences=defences,
        heartbeat_interval_s=300.0,  # honest TTL 900 s; the bench publishes by itself (no heartbeat task)
        limits=RecordLimits(max_ttl_s=MAX_TTL_S),
        rpc_timeout_s=rpc_timeout_s,
    )


def identity(rng: random.Random) -> NodeIdentity:
    return NodeIdentity(Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)))


def count_rpcs(protocol: SwarmProtocol) -> None:
    """Count this node's ``find_entries`` RPCs (and the failed ones) into the running lookup's counter."""
    original = protocol.call_find_entries

    async def counted(node: Any, dkey: bytes, after: str = "") -> tuple[bool, Any]:
        ok, answer = await original(node, dkey, after)
        counter = _rpcs.get()
        if counter is not None:
            counter[0] += 1
            counter[1] += not ok
        return ok, answer

    protocol.call_find_entries = counted  # type: ignore[method-assign]


async def start(swarm: Swarm, index: int, bootstrap: list[str]) -> None:
    member = swarm.plan.members[index]
    node = SwarmNode(member.identity, swarm.config)
    await node.start(member.host, 0, bootstrap)
    swarm.nodes[index] = node
    if member.kind in ("honest", "late"):
        count_rpcs(node.server.swarm_protocol)
    if member.kind == "late":  # the others publish once the swarm is up (``attack``)
        await node.publish(swarm.plan.fields(index))


async def join(swarm: Swarm, indices: list[int], rng: random.Random, batch: int = 10) -> None:
    for first in range(0, len(indices), batch):
        started = list(swarm.nodes)
        chunk = indices[first : first + batch]
        peers = [rng.choice(started) for _ in chunk]
        addrs = [f"{swarm.plan.members[p].host}:{swarm.nodes[p].dht_port}" for p in peers]
        await asyncio.gather(*(start(swarm, i, [a]) for i, a in zip(chunk, addrs, strict=True)))
        if (first // batch) % 10 == 9:
            progress(f"{swarm.label}: {len(swarm.nodes)} nodes up")


async def attack(swarm: Swarm, args: argparse.Namespace, rng: random.Random) -> None:
    """Build the swarm, then sybil flood, bogus contacts and poisoning, then the late honest joiners."""
    plan, stats = swarm.plan, swarm.stats
    t = clock()
    await start(swarm, 0, [])
    await join(swarm, [i for i in plan.order if i != 0], rng)
    spent(stats, "build", t)
    t = clock()
    early = plan.indices("honest")
    for first in range(0, len(early), PUBLISH_BATCH):  # one publish round, into the whole swarm
        batch = early[first : first + PUBLISH_BATCH]
        await asyncio.gather(*(swarm.nodes[i].publish(plan.fields(i)) for i in batch))
        if (first // PUBLISH_BATCH) % 25 == 24:
            progress(f"{swarm.label}: {first + len(batch)} honest records published")
    spent(stats, "publish", t)
    progress(f"{swarm.label}: {len(swarm.nodes)} nodes up, honest records published")

    t = clock()
    sybils = plan.indices("sybil")
    keys = [identity(rng) for _ in range(args.sybil_keys)]
    sent = accepted = garbage_sent = garbage_accepted = 0
    honest_ids = [plan.members[i].identity.node_id for i in early]
    for n, s in enumerate(sybils):
        node = swarm.nodes[s]
        mine = keys[n :: len(sybils)]
        attacked = MODELS[: args.attacked_models]
        raws = sybil_records(mine, attacked, plan.members[s].host, node.dht_port, MAX_TTL_S)
        for model in attacked:
            key = model_key(model)
            peers = await closest_peers(node.server.swarm_protocol, key, node.config.ksize, node.config.alpha)
            accepted += await flood(node.server.swarm_protocol, peers, [(key, r) for r in raws])
            sent += len(peers) * len(raws)
            junk = garbage_records(rng.choice(honest_ids), [model], plan.members[s].host, MAX_TTL_S)
            garbage_accepted += await flood(node.server.swarm_protocol, peers, junk)
            garbage_sent += len(peers) * len(junk)
    stats.update(sybil_stores=sent, sybil_accepted=accepted, garbage_stores=garbage_sent)
    stats.update(garbage_accepted=garbage_accepted)
    spent(stats, "flood", t)
    progress(f"{swarm.label}: sybil flood done ({accepted}/{sent} stores accepted)")

    t = clock()
    honest_addrs = [(plan.members[i].host, swarm.nodes[i].dht_port) for i in early]
    answered = pings = 0
    for b in plan.indices("bogus"):
        protocol = swarm.nodes[b].server.swarm_protocol
        make_bogus(protocol, random.Random(rng.random()))
        fakes = [
            f for m in MODELS for f in near_ids(digest(model_key(m)), args.poison_ids // len(MODELS), rng)
        ]
        targets = rng.sample(honest_addrs, min(args.poison_targets, len(honest_addrs)))
        answered += await poison(protocol, targets, fakes)
        pings += len(targets) * len(fakes)
    stats.update(poison_pings=pings, poison_answered=answered)
    spent(stats, "poison", t)
    progress(f"{swarm.label}: bogus contacts on, {pings} poisoning pings sent")

    t = clock()
    await join(swarm, plan.indices("late"), rng)
    spent(stats, "late_join", t)
    progress(f"{swarm.label}: {len(plan.indices('late'))} late honest nodes joined")


async def one_lookup(swarm: Swarm, job: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    _rpcs.set(counter := [0, 0])
    reader = swarm.nodes[job["reader"]]
    key = model_key(job["model"]) if job["kind"] == "model" else node_key(swarm.plan.node_id(job["target"]))
    t = time.perf_counter()
    try:
        found = await asyncio.wait_for(reader.server.lookup(key), timeout_s)
    except TimeoutError:
        return {**job, "timeout": True, "ms": timeout_s * 1000, "rpcs": counter[0], "failed": counter[1]}
    ids = {r.node_id for r in found.records}
    return {
        **job,
        "timeout": False,
        "ms": (time.perf_counter() - t) * 1000,
        "rounds": found.rounds,
        "rpcs": counter[0],
        "failed": counter[1],
        "ids": ids,
    }


async def run_jobs(swarm: Swarm, jobs: list[dict[str, Any]], concurrency: int, timeout_s: float) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def gated(job: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            return await one_lookup(swarm, job, timeout_s)

    return list(await asyncio.gather(*(gated(j) for j in jobs)))


async def replays(
    swarm: Swarm, jobs: list[dict[str, Any]], args: argparse.Namespace, rng: random.Random
) -> None:
    """Capture the requests of a few lookups on the replayers' links, then replay them."""
    plan = swarm.plan
    replayers = [Replayer(swarm.nodes[r].server.swarm_protocol, args.capture) for r in plan.indices("replay")]
    honest = plan.indices("honest") + plan.indices("late")
    if not replayers:
        return
    for n, i in enumerate(honest):
        transport = swarm.nodes[i].server.swarm_protocol.transport
        transport._inner = Tap(transport._inner, replayers[n % len(replayers)])
    for r in replayers:
        r.capturing = True
    await run_jobs(swarm, jobs, args.concurrency, args.lookup_timeout)
    for r in replayers:
        r.capturing = False
    addrs = [(plan.members[i].host, swarm.nodes[i].dht_port) for i in honest]

    def other(dest: tuple[str, int]) -> tuple[str, int]:
        return rng.choice([a for a in addrs[:50] if a != dest])

    sent = [await r.replay(args.replays, other) for r in replayers]
    await asyncio.sleep(2.0)  # answers in flight
    got = {k: sum(r.answers[k] for r in replayers) for k in ("same", "other", "bytes")}
    swarm.stats.update(
        replay_captured=sum(len(r.captured) for r in replayers),
        replay_sent_same=sum(s["same"] for s in sent),
        replay_sent_other=sum(s["other"] for s in sent),
        replay_sent_bytes=sum(s["bytes"] for s in sent),
        replay_answered_same=got["same"],
        replay_answered_other=got["other"],
        replay_answer_bytes=got["bytes"],
    )
    progress(f"{swarm.label}: replayed {swarm.stats['replay_sent_same']} frames to their destination")


def workload(plan: Plan, count: int, rng: random.Random) -> list[dict[str, Any]]:
    readers = plan.indices("honest") + plan.indices("late")
    jobs = []
    for n in range(count):
        if n % 5 == 4:
            jobs.append({"kind": "model", "reader": rng.choice(readers), "model": rng.choice(MODELS)})
        else:
            jobs.append({"kind": "node", "reader": rng.choice(readers), "target": rng.choice(readers)})
    return jobs


async def bench(args: argparse.Namespace, swarms: list[Swarm]) -> None:
    plan = swarms[0].plan
    for swarm in swarms:
        await attack(swarm, args, random.Random(args.seed + 1))
    jobs = workload(plan, args.lookups, random.Random(args.seed + 2))
    rounds = max(1, args.rounds)
    for r in range(rounds):
        part = jobs[r::rounds]
        for swarm in swarms if r % 2 == 0 else swarms[::-1]:
            t = clock()
            swarm.results += await run_jobs(swarm, part, args.concurrency, args.lookup_timeout)
            spent(swarm.stats, "lookup", t)
            progress(f"{swarm.label}: lookup round {r + 1}/{rounds} done ({len(swarm.results)} lookups)")
    extra = workload(plan, args.capture_lookups, random.Random(args.seed + 3))
    for swarm in swarms:
        t = clock()
        await replays(swarm, extra, args, random.Random(args.seed + 4))
        spent(swarm.stats, "replay", t)
        swarm.stats.update(census(swarm, MODELS))
        swarm.stats.update(pollution(swarm))
