"""The plan of ``bench/dht_hostile.py`` (who is hostile, on which address) and what it reports: lookup
summaries, what storing peers hold, how polluted honest routing tables are, and the markdown table."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kademlia.utils import digest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.keys import model_key
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields

HONEST_PER_ADDRESS = 8  # a small site behind one address
# hostile kinds: their addresses (a few each, none shared with honest nodes)
HOSTILE = {"sybil": ("127.0.20.", 4), "bogus": ("127.0.30.", 4), "replay": ("127.0.40.", 2)}


def honest_host(i: int) -> str:
    """The loopback alias of the ``i``-th honest node: 8 nodes to an address, 127.0.1.1 upwards."""
    site = i // HONEST_PER_ADDRESS
    return f"127.0.{1 + site // 250}.{1 + site % 250}"


def split_hostile(nodes: int, fraction: float) -> dict[str, int]:
    """How many nodes of each hostile kind: ``fraction`` of ``nodes`` in thirds (sybils get the rest)."""
    total = round(nodes * fraction)
    third = total // 3
    return {"sybil": total - 2 * third, "bogus": third, "replay": third}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Member:
    kind: str  # honest | late | sybil | bogus | replay
    host: str
    identity: NodeIdentity
    model: str | None = None


@dataclass(frozen=True)
class Counts:
    nodes: int
    honest: int
    late: int
    sybil: int
    bogus: int
    replay: int


@dataclass
class Plan:
    members: list[Member]
    order: list[int]  # join order of all but the late honest nodes (0, the founder, first)

    @classmethod
    def make(
        cls,
        nodes: int,
        fraction: float,
        late_fraction: float,
        models: list[str],
        rng: Any,
        identity: Callable[[Any], NodeIdentity],
    ) -> Plan:
        kinds = split_hostile(nodes, fraction)
        honest = nodes - sum(kinds.values())
        late = round(honest * late_fraction)
        members = [
            Member(
                "honest" if i < honest - late else "late",
                honest_host(i),
                identity(rng),
                models[i % len(models)],
            )
            for i in range(honest)
        ]
        for kind, count in kinds.items():
            net, addresses = HOSTILE[kind]
            members += [Member(kind, f"{net}{1 + j % addresses}", identity(rng)) for j in range(count)]
        order = [i for i, m in enumerate(members) if m.kind != "late" and i != 0]
        rng.shuffle(order)
        return cls(members, [0, *order])

    def indices(self, kind: str) -> list[int]:
        return [i for i, m in enumerate(self.members) if m.kind == kind]

    def node_id(self, i: int) -> str:
        return self.members[i].identity.node_id

    def fields(self, i: int) -> RecordFields:
        member = self.members[i]
        return RecordFields(
            urls=[f"http://{member.host}:{9000 + i}"], models=[member.model or ""], slots_total=1
        )

    def counts(self) -> Counts:
        kinds = {k: len(self.indices(k)) for k in ("honest", "late", "sybil", "bogus", "replay")}
        return Counts(nodes=len(self.members), **kinds)

    def describe(self) -> str:
        c = self.counts()
        return (
            f"{c.nodes} nodes: {c.honest} honest + {c.late} late honest on 127.0.1.1.."
            f"{honest_host(c.honest + c.late - 1)}, {c.sybil} sybil storers, {c.bogus} bogus-contact peers, "
            f"{c.replay} replayers"
        )


@dataclass
class Swarm:
    label: str
    plan: Plan
    config: SwarmConfig
    nodes: dict[int, SwarmNode] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)

    async def stop(self) -> None:
        for node in self.nodes.values():
            await node.stop(withdraw=False)
        self.nodes.clear()


def _honest(plan: Plan) -> list[int]:
    return plan.indices("honest") + plan.indices("late")


def census(swarm: Swarm, models: list[str]) -> dict[str, int]:
    """Entries that honest storing peers hold under the model keys, by whose they are."""
    plan = swarm.plan
    honest_ids = {plan.node_id(i) for i in _honest(plan)}
    held = {"held_honest": 0, "held_sybil": 0}
    for i in _honest(plan):
        store = swarm.nodes[i].server.entries
        for model in models:
            for entry in store.entries(digest(model_key(model))):
                held["held_honest" if entry.record.node_id in honest_ids else "held_sybil"] += 1
    return held


def pollution(swarm: Swarm) -> dict[str, float]:
    """Contacts in honest routing tables whose id is not the id of the node at that endpoint."""
    plan = swarm.plan
    truth = {
        (plan.members[i].host, n.dht_port): plan.members[i].identity.node_id_bytes
        for i, n in swarm.nodes.items()
    }
    honest = {(plan.members[i].host, swarm.nodes[i].dht_port) for i in _honest(plan)}
    total = fake = fake_at_honest = 0
    for i in _honest(plan):
        for bucket in swarm.nodes[i].server.swarm_protocol.router.buckets:
            for contact in bucket.get_nodes():
                total += 1
                if truth.get((contact.ip, contact.port)) != contact.id:
                    fake += 1
                    fake_at_honest += (contact.ip, contact.port) in honest
    return {
        "table_contacts": total / len(_honest(plan)),
        "table_fake": fake / max(1, total),
        "table_fake_at_honest": fake_at_honest / max(1, total),
    }


def lookup_summary(swarm: Swarm, attacked: set[str]) -> dict[str, float]:
    plan = swarm.plan
    late = set(plan.indices("late"))
    honest_ids = {plan.node_id(i) for i in _honest(plan)}
    out: dict[str, float] = {}
    for kind in ("node", "model"):
        done = [r for r in swarm.results if r["kind"] == kind]
        answered = [r for r in done if not r["timeout"]]
        out[f"{kind}_lookups"] = len(done)
        out[f"{kind}_timeouts"] = len(done) - len(answered)
        out[f"{kind}_rounds"] = statistics.mean(r["rounds"] for r in answered) if answered else float("nan")
        out[f"{kind}_rpcs"] = statistics.mean(r["rpcs"] for r in done) if done else float("nan")
        out[f"{kind}_failed_rpcs"] = statistics.mean(r["failed"] for r in done) if done else float("nan")
        out[f"{kind}_p50_ms"] = pct([r["ms"] for r in done], 50)
        out[f"{kind}_p95_ms"] = pct([r["ms"] for r in done], 95)
    nodes = [r for r in swarm.results if r["kind"] == "node"]
    for name, group in (
        ("node_found", nodes),
        ("node_found_late", [r for r in nodes if r["target"] in late]),
    ):
        hits = [not r["timeout"] and plan.node_id(r["target"]) in r["ids"] for r in group]
        out[name] = sum(hits) / len(hits) if hits else float("nan")
    groups: dict[str, list[float]] = {}
    for r in (r for r in swarm.results if r["kind"] == "model"):
        ids = set() if r["timeout"] else r["ids"]
        serving = [i for i in _honest(plan) if plan.members[i].model == r["model"]]
        early = {plan.node_id(i) for i in serving if i not in late}
        later = {plan.node_id(i) for i in serving if i in late}
        side = "attacked" if r["model"] in attacked else "control"
        groups.setdefault(f"model_recall_{side}", []).append(len(ids & early) / max(1, len(early)))
        groups.setdefault(f"model_recall_{r['model']}", []).append(len(ids & early) / max(1, len(early)))
        groups.setdefault(f"model_complete_{side}", []).append(float(early <= ids))
        if later:
            groups.setdefault(f"model_recall_late_{side}", []).append(len(ids & later) / len(later))
        groups.setdefault(f"model_forged_{side}", []).append(len(ids - honest_ids) / len(ids) if ids else 0.0)
    for name, values in groups.items():
        out[name] = statistics.mean(values)
    return out


ROWS = [
    ("`node:{id}` found (all honest targets)", "node_found", "{:.0%}"),
    ("`node:{id}` found (late joiners)", "node_found_late", "{:.0%}"),
    (
        "`node:` rounds (hops) / RPCs / failed RPCs",
        ("node_rounds", "node_rpcs", "node_failed_rpcs"),
        "{:.1f}",
    ),
    ("`node:` p50 / p95 ms", ("node_p50_ms", "node_p95_ms"), "{:.0f}"),
    (
        "`model:X` early honest servers found: attacked / control keys",
        ("model_recall_attacked", "model_recall_control"),
        "{:.0%}",
    ),
    (
        "`model:X` late joiners found: attacked / control",
        ("model_recall_late_attacked", "model_recall_late_control"),
        "{:.0%}",
    ),
    (
        "`model:X` all early honest found: attacked / control",
        ("model_complete_attacked", "model_complete_control"),
        "{:.0%}",
    ),
    (
        "`model:X` answer share that is sybil: attacked / control",
        ("model_forged_attacked", "model_forged_control"),
        "{:.0%}",
    ),
    ("`model:` rounds / RPCs / failed RPCs", ("model_rounds", "model_rpcs", "model_failed_rpcs"), "{:.1f}"),
    ("`model:` p50 / p95 ms", ("model_p50_ms", "model_p95_ms"), "{:.0f}"),
    ("lookups over the time limit (node / model)", ("node_timeouts", "model_timeouts"), "{:.0f}"),
    ("sybil stores accepted / sent", ("sybil_accepted", "sybil_stores"), "{:.0f}"),
    ("garbage stores accepted / sent", ("garbage_accepted", "garbage_stores"), "{:.0f}"),
    ("model-key entries held by honest peers: honest / sybil", ("held_honest", "held_sybil"), "{:.0f}"),
    ("contacts per honest table / share fake", ("table_contacts", "table_fake"), None),
    ("share fake at an honest node's endpoint", "table_fake_at_honest", "{:.1%}"),
    ("replays to the destination answered / sent", ("replay_answered_same", "replay_sent_same"), "{:.0f}"),
    ("replays to another node answered / sent", ("replay_answered_other", "replay_sent_other"), "{:.0f}"),
    ("replay answer bytes / replayed bytes", ("replay_answer_bytes", "replay_sent_bytes"), "{:.0f}"),
    (
        "wall s: build / publish / flood / poison / late join / lookups / replays",
        ("build_s", "publish_s", "flood_s", "poison_s", "late_join_s", "lookup_s", "replay_s"),
        "{:.0f}",
    ),
    (
        "CPU s of the swarm's process, same phases",
        (
            "build_cpu_s",
            "publish_cpu_s",
            "flood_cpu_s",
            "poison_cpu_s",
            "late_join_cpu_s",
            "lookup_cpu_s",
            "replay_cpu_s",
        ),
        "{:.0f}",
    ),
]


def cell(stats: dict[str, Any], keys: str | tuple[str, ...], fmt: str | None) -> str:
    names = (keys,) if isinstance(keys, str) else keys
    values = [stats.get(k, float("nan")) for k in names]
    if fmt is None:  # contacts, then a share
        return f"{values[0]:.0f} / {values[1]:.1%}"
    return " / ".join(fmt.format(v) for v in values)


def table(summaries: dict[str, dict[str, Any]]) -> str:
    labels = list(summaries)
    names = {
        "on": "defences on (current)",
        "off": "defences off (pre-#14)",
        "baseline": "no hostile nodes (on)",
    }
    lines = [
        "| measure | " + " | ".join(names.get(x, x) for x in labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for title, keys, fmt in ROWS:
        lines.append(f"| {title} | " + " | ".join(cell(summaries[x], keys, fmt) for x in labels) + " |")
    return "\n".join(lines)
