"""Real nodes on both sides of a real masquerading NAT (``tests.netlab``): DHT lookups and routed
requests work both ways, because peers are filed at their advertised contact (frame v2), not at the
NAT's address and the random source port their packets arrive from.

Outside: node A (SmolLM2) on the host, and a SwarmNode C in this test that knows only A. Inside,
behind the NAT: node B (Gemma 3), its DHT and HTTP ports forwarded in (30001, 30000) as a NodePort
would, advertising the NAT's address and those ports. With source-address filing, A files B at the
NAT's address and a random port: A itself still reaches B there while the NAT mapping lives, but C,
told about B by A, never does (the NAT drops its datagrams), and B drops out of C's lookups.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.keys import ALL_NODES_KEY
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.netlab import HOST_ADDR, NAT_ADDR, NOT_ROOT, NatLab, missing_tools
from tests.nodeproc import NodeProcess

pytestmark = [
    pytest.mark.model,
    pytest.mark.slow,
    pytest.mark.skipif(NOT_ROOT, reason="network namespaces and iptables need root"),
]
DHT_FORWARD, HTTP_FORWARD = 30001, 30000
ARGS = ("--n-ctx", "512", "--n-parallel", "2", "--heartbeat-interval", "1")


class LabNode(NodeProcess):
    """A node process bound and reached where the lab puts it (optionally inside a namespace)."""

    def __init__(self, model: str, logs: Path, *extra: str, name: str, url: str, prefix: list[str]) -> None:
        super().__init__(model, logs, *extra, name=name)
        self.args = [*prefix, *self.args]  # later flags win: ``extra`` overrides --host/--port
        self._url = url

    @property
    def url(self) -> str:
        return self._url


@pytest.fixture
def lab() -> Iterator[NatLab]:
    missing = missing_tools()
    assert missing is None, missing
    nat = NatLab(forwards=[("udp", DHT_FORWARD, 8001), ("tcp", HTTP_FORWARD, 8000)]).open()
    try:
        yield nat
    finally:
        nat.close()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get(node: NodeProcess, path: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{node.url}{path}", timeout=10).json()  # type: ignore[no-any-return]


def peers(node: NodeProcess) -> dict[str, tuple[str, int]]:
    return {p["id"]: (p["ip"], p["port"]) for p in get(node, "/dht/status")["peers"]}


def chat(node: NodeProcess, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4}
    return httpx.post(f"{node.url}/v1/chat/completions", json=body, timeout=120)


async def test_lookups_and_routed_requests_work_both_ways_through_nat(
    lab: NatLab, nodes: Nodes, node_logs: Path
) -> None:
    a = LabNode(SMOL, node_logs, *ARGS, "--host", HOST_ADDR, name="nat-a", url="", prefix=[])
    a._url = f"http://{HOST_ADDR}:{a.port}"
    nodes.started.append(a)
    a.start()
    b = LabNode(
        GEMMA,
        node_logs,
        *ARGS,
        *("--host", "0.0.0.0", "--port", "8000", "--dht-port", "8001"),
        *("--advertise-host", NAT_ADDR, "--advertise-dht-port", str(DHT_FORWARD)),
        *("--advertise-urls", f"http://{NAT_ADDR}:{HTTP_FORWARD}"),
        *("--bootstrap-nodes", f"{HOST_ADDR}:{a.dht_port}"),
        name="nat-b",
        url=f"http://{NAT_ADDR}:{HTTP_FORWARD}",
        prefix=lab.exec_prefix(),
    )
    nodes.started.append(b)
    b.start()
    a_id, b_id = get(a, "/status")["node_id"], get(b, "/status")["node_id"]

    # each side files the other at its advertised contact: B at the NAT's forwarded port
    wait_for(lambda: b_id in peers(a) and a_id in peers(b), 30, "A and B in each other's routing table")
    assert peers(a)[b_id] == (NAT_ADDR, DHT_FORWARD)
    assert peers(b)[a_id] == (HOST_ADDR, a.dht_port)

    # lookups both ways: each node's swarm view lists both
    both = {a_id, b_id}
    for node in (a, b):
        wait_for(lambda n=node: {x["node_id"] for x in get(n, "/swarm/nodes")["nodes"]} >= both, 30, "views")

    # a third peer outside, told about B only by A, reaches B at the address A gave it
    c = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=1.0))
    await c.start(HOST_ADDR, 0, [f"{HOST_ADDR}:{a.dht_port}"])
    try:
        filed = {p["id"]: (p["ip"], p["port"]) for p in c.status()["peers"]}
        assert filed.get(b_id) == (NAT_ADDR, DHT_FORWARD), filed
        lookup = await c.server.lookup(ALL_NODES_KEY)
        assert lookup.responders == 2, f"only {lookup.responders} of A and B answered C's lookup"
        assert {r.node_id for r in lookup.records} >= both
    finally:
        await c.stop()

    # routed requests both ways: A forwards Gemma to B through the DNAT, B forwards SmolLM2 to A
    # through the masquerade
    wait_for(lambda: {m["id"] for m in get(a, "/v1/models")["data"]} >= {SMOL, GEMMA}, 30, "A's models")
    wait_for(lambda: {m["id"] for m in get(b, "/v1/models")["data"]} >= {SMOL, GEMMA}, 30, "B's models")
    to_b = chat(a, GEMMA)
    assert to_b.status_code == 200, to_b.text
    assert to_b.headers["x-llamanet-node"] == b_id
    to_a = chat(b, SMOL)
    assert to_a.status_code == 200, to_a.text
    assert to_a.headers["x-llamanet-node"] == a_id
