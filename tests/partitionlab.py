"""Two sites joined through a real NAT (``tests.netlab``): for the partition test and its bench.

Site A, outside: node A (SmolLM2). Site B, behind the NAT: nodes B and S (Gemma 3, their ports forwarded
in, as two pods with a NodePort each; forwarded from inside the site too: the hairpin NAT that
docs/operator.md asks of a site behind NAT). S bootstraps from B, B from S (its site's seed) and from
A; A has no configured peers, so only B can bring the sites back together after a partition. ``cut``
drops every packet the router forwards between the sites (iptables in the router's namespace);
``heal`` lets them through again. ``wait_merged`` measures until both sites list all nodes: A's
``/swarm/nodes`` lists B and S, B's and S's list A.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.integration.conftest import GEMMA, SMOL
from tests.integration.test_nat import DHT_FORWARD, HTTP_FORWARD, LabNode, chat, get
from tests.netlab import HOST_ADDR, INNER_ADDR, NAT_ADDR, NatLab, sh

SEED_HTTP, SEED_DHT = 30002, 30003
# what the router forwards between the sites (traffic hairpinned inside site B stays)
CUT = (("FORWARD", "-i", "rout", "-j", "DROP"), ("FORWARD", "-o", "rout", "-j", "DROP"))
RPC_TIMEOUT_S = 5.0  # the nodes' DHT RPC timeout (``SwarmConfig.rpc_timeout_s``)


def open_lab(tag: str) -> NatLab:
    forwards = [("udp", DHT_FORWARD, 8001), ("tcp", HTTP_FORWARD, 8000)]
    forwards += [("udp", SEED_DHT, 8003), ("tcp", SEED_HTTP, 8002)]
    return NatLab(tag=tag, forwards=forwards, hairpin=True).open()


@dataclass
class Sites:
    lab: NatLab
    a: LabNode
    seed: LabNode
    b: LabNode
    heartbeat_s: float

    @property
    def nodes(self) -> list[LabNode]:
        return [self.a, self.seed, self.b]

    def ids(self) -> tuple[str, set[str]]:
        """A's node id, and site B's (B's and S's)."""
        return node_id(self.a), {node_id(self.b), node_id(self.seed)}


def make_sites(lab: NatLab, logs: Path, heartbeat_s: float) -> Sites:
    """The three nodes (not started): start them in ``Sites.nodes`` order."""
    args = ("--n-ctx", "512", "--n-parallel", "2", "--heartbeat-interval", f"{heartbeat_s:g}")
    a = LabNode(SMOL, logs, *args, "--host", HOST_ADDR, name="part-a", url="", prefix=[])
    a._url = f"http://{HOST_ADDR}:{a.port}"
    seed = LabNode(
        GEMMA,
        logs,
        *args,
        *("--host", "0.0.0.0", "--port", "8002", "--dht-port", "8003"),
        *("--advertise-host", NAT_ADDR, "--advertise-dht-port", str(SEED_DHT)),
        *("--advertise-urls", f"http://{NAT_ADDR}:{SEED_HTTP}"),
        *("--bootstrap-nodes", f"{INNER_ADDR}:8001"),
        name="part-s",
        url=f"http://{NAT_ADDR}:{SEED_HTTP}",
        prefix=lab.exec_prefix(),
    )
    b = LabNode(
        GEMMA,
        logs,
        *args,
        *("--host", "0.0.0.0", "--port", "8000", "--dht-port", "8001"),
        *("--advertise-host", NAT_ADDR, "--advertise-dht-port", str(DHT_FORWARD)),
        *("--advertise-urls", f"http://{NAT_ADDR}:{HTTP_FORWARD}"),
        *("--bootstrap-nodes", f"{INNER_ADDR}:8003,{HOST_ADDR}:{a.dht_port}"),
        name="part-b",
        url=f"http://{NAT_ADDR}:{HTTP_FORWARD}",
        prefix=lab.exec_prefix(),
    )
    return Sites(lab, a, seed, b, heartbeat_s)


def node_id(node: LabNode) -> str:
    return str(get(node, "/status")["node_id"])


def cut(lab: NatLab) -> None:
    for rule in CUT:
        sh("ip", "netns", "exec", lab.router, "iptables", "-I", *rule)


def heal(lab: NatLab) -> None:
    for rule in CUT:
        sh("ip", "netns", "exec", lab.router, "iptables", "-D", *rule)


def models(node: LabNode) -> set[str]:
    return {m["id"] for m in get(node, "/v1/models")["data"]}


def listed(node: LabNode) -> set[str]:
    """The node ids ``node``'s ``/swarm/nodes`` lists (empty when it does not answer in time)."""
    try:
        return {n["node_id"] for n in get(node, "/swarm/nodes")["nodes"]}
    except (httpx.HTTPError, ValueError):
        return set()


def site_b_gone(sites: Sites, site_b: set[str]) -> bool:
    """Site B's records expired at A: A's view lists neither B nor S, nor their model."""
    return not listed(sites.a) & site_b and GEMMA not in models(sites.a)


@dataclass
class Merge:
    seconds: float  # until all three views held at once
    views: dict[str, float]  # when each first held


def wait_merged(sites: Sites, a_id: str, site_b: set[str], timeout_s: float) -> Merge | None:
    """How long until both sites list all nodes (A lists B and S; B and S list A), or None if not within
    ``timeout_s``. Each node is polled by a thread of its own every 0.2 s, as a client of it would (a
    node not asked for a while answers from an old lookup, then waits for a new one)."""
    checks: dict[str, tuple[LabNode, Callable[[set[str]], bool]]] = {
        "A lists B and S": (sites.a, lambda ids: ids >= site_b),
        "B lists A": (sites.b, lambda ids: a_id in ids),
        "S lists A": (sites.seed, lambda ids: a_id in ids),
    }
    started = time.monotonic()
    holds = dict.fromkeys(checks, False)
    first: dict[str, float] = {}
    stop = threading.Event()

    def poll(name: str, node: LabNode, check: Callable[[set[str]], bool]) -> None:
        while not stop.is_set():
            holds[name] = check(listed(node))
            if holds[name]:
                first.setdefault(name, round(time.monotonic() - started, 1))
            stop.wait(0.2)

    threads = [threading.Thread(target=poll, args=(name, *c), daemon=True) for name, c in checks.items()]
    for thread in threads:
        thread.start()
    try:
        while (waited := time.monotonic() - started) < timeout_s:
            if all(holds.values()):
                return Merge(round(waited, 1), dict(first))
            time.sleep(0.1)
        return None
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def served_by(node: LabNode, model: str, node_ids: set[str]) -> bool:
    answer = chat(node, model)
    return answer.status_code == 200 and answer.headers.get("x-llamanet-node") in node_ids


def served_inside(lab: NatLab, model: str) -> bool:
    """A chat for ``model`` at B, sent from inside B's site (its namespace), answers 200."""
    script = (
        "import httpx, sys; body = {'model': sys.argv[1], 'max_tokens': 2, "
        "'messages': [{'role': 'user', 'content': 'Hi'}]}; "
        "print(httpx.post('http://127.0.0.1:8000/v1/chat/completions', json=body, timeout=60).status_code)"
    )
    return sh(*lab.exec_prefix(), sys.executable, "-c", script, model).strip() == "200"
