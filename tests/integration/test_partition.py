"""A partition between two sites, survived (issue 15 item 4): real nodes on both sides of a real NAT
(``tests.netlab``), the link between them cut and restored.

Outside: node A (SmolLM2). Inside, behind the NAT: nodes B and S (Gemma 3, their ports forwarded in, as
two pods with a NodePort each). S bootstraps from B, B from S (its site's seed) and from A. While the link
is cut each site keeps serving its own model, and a request at A for the model only site B serves
fails clearly and at once instead of hanging. When the link comes back, B reaches A again on its own (A has
no configured peers: only B can bring the sites back together) and requests are routed across both
ways. Without B's retry of configured peers missing from its table, B (which still knows S) would never
call A again and the sites would stay two swarms.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.integration.test_nat import ARGS, DHT_FORWARD, HTTP_FORWARD, LabNode, chat, get, wait_for
from tests.netlab import HOST_ADDR, INNER_ADDR, NAT_ADDR, NOT_ROOT, NatLab, missing_tools, sh

pytestmark = [
    pytest.mark.model,
    pytest.mark.slow,
    pytest.mark.skipif(NOT_ROOT, reason="network namespaces and iptables need root"),
]
CUT = ("FORWARD", "-j", "DROP")
SEED_HTTP, SEED_DHT = 30002, 30003


@pytest.fixture
def lab() -> Iterator[NatLab]:
    missing = missing_tools()
    assert missing is None, missing
    forwards = [("udp", DHT_FORWARD, 8001), ("tcp", HTTP_FORWARD, 8000)]
    forwards += [("udp", SEED_DHT, 8003), ("tcp", SEED_HTTP, 8002)]
    nat = NatLab(tag="p", forwards=forwards).open()
    try:
        yield nat
    finally:
        nat.close()


def models(node: LabNode) -> set[str]:
    return {m["id"] for m in get(node, "/v1/models")["data"]}


def served_by(node: LabNode, model: str, node_ids: set[str]) -> bool:
    answer = chat(node, model)
    return answer.status_code == 200 and answer.headers.get("x-llamanet-node") in node_ids


async def test_each_site_serves_through_a_partition_and_the_sites_rejoin_when_it_heals(
    lab: NatLab, nodes: Nodes, node_logs: Path
) -> None:
    a = LabNode(SMOL, node_logs, *ARGS, "--host", HOST_ADDR, name="part-a", url="", prefix=[])
    a._url = f"http://{HOST_ADDR}:{a.port}"
    inside = lab.exec_prefix()
    seed = LabNode(
        GEMMA,
        node_logs,
        *ARGS,
        *("--host", "0.0.0.0", "--port", "8002", "--dht-port", "8003"),
        *("--advertise-host", NAT_ADDR, "--advertise-dht-port", str(SEED_DHT)),
        *("--advertise-urls", f"http://{NAT_ADDR}:{SEED_HTTP}"),
        *("--bootstrap-nodes", f"{INNER_ADDR}:8001"),
        name="part-s",
        url=f"http://{NAT_ADDR}:{SEED_HTTP}",
        prefix=inside,
    )
    b = LabNode(
        GEMMA,
        node_logs,
        *ARGS,
        *("--host", "0.0.0.0", "--port", "8000", "--dht-port", "8001"),
        *("--advertise-host", NAT_ADDR, "--advertise-dht-port", str(DHT_FORWARD)),
        *("--advertise-urls", f"http://{NAT_ADDR}:{HTTP_FORWARD}"),
        *("--bootstrap-nodes", f"{INNER_ADDR}:8003,{HOST_ADDR}:{a.dht_port}"),
        name="part-b",
        url=f"http://{NAT_ADDR}:{HTTP_FORWARD}",
        prefix=inside,
    )
    for node in (a, seed, b):
        nodes.started.append(node)
        node.start()
    a_id = get(a, "/status")["node_id"]
    site_b = {get(b, "/status")["node_id"], get(seed, "/status")["node_id"]}
    wait_for(lambda: served_by(a, GEMMA, site_b) and served_by(b, SMOL, {a_id}), 60, "routing across")

    # the link between the sites is cut
    in_router = ("ip", "netns", "exec", lab.router, "iptables")
    sh(*in_router, "-I", *CUT)
    try:
        # at once, while site B's records still live: the forward fails over and ends in a clear error
        started = time.monotonic()
        cut_off = chat(a, GEMMA)
        waited = time.monotonic() - started
        assert cut_off.status_code in (502, 503, 404), cut_off.text
        assert waited < 20, f"{waited:.1f}s: bounded connect timeout and failover, not the forward timeout"
        assert "error" in cut_off.json()
        print(
            f"partition: a request for the cut-off model failed with {cut_off.status_code} in {waited:.1f}s"
        )
        wait_for(lambda: GEMMA not in models(a), 60, "site B's model to leave A's view (records expired)")
        started = time.monotonic()
        refused = chat(a, GEMMA)
        assert refused.status_code in (404, 503), refused.text
        assert time.monotonic() - started < 10, "a request for an unreachable site's model must not hang"
        assert "error" in refused.json()
        # each site goes on serving its own model
        own = chat(a, SMOL)
        assert own.status_code == 200 and own.headers.get("x-llamanet-node", a_id) == a_id, own.text
        assert served_inside(lab, GEMMA), "B, asked from inside its own site, serves its model"
    finally:
        sh(*in_router, "-D", *CUT)  # the partition heals

    # B calls A again by itself and the sites are one swarm again: routed both ways
    healed = time.monotonic()
    wait_for(lambda: GEMMA in models(a), 90, "B's model back in A's view")
    print(f"partition: site B listed at A again {time.monotonic() - healed:.1f}s after the link came back")
    wait_for(lambda: served_by(a, GEMMA, site_b) and served_by(b, SMOL, {a_id}), 60, "routing across again")


def served_inside(lab: NatLab, model: str) -> bool:
    """A chat for ``model`` at B, sent from inside B's site (its namespace), answers 200."""
    script = (
        "import httpx, sys; body = {'model': sys.argv[1], 'max_tokens': 2, "
        "'messages': [{'role': 'user', 'content': 'Hi'}]}; "
        "print(httpx.post('http://127.0.0.1:8000/v1/chat/completions', json=body, timeout=60).status_code)"
    )
    return sh(*lab.exec_prefix(), sys.executable, "-c", script, model).strip() == "200"
