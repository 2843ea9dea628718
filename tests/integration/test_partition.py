"""A partition between two sites, survived (issue 15 item 4): real nodes on both sides of a real NAT
(``tests.partitionlab``), the link between them cut and restored.

Site A: node A (SmolLM2). Site B, behind the NAT: nodes B and S (Gemma 3). While the link is cut each
site keeps serving its own model, and a request at A for the model only site B serves fails clearly and
at once instead of hanging. When the link comes back, B reaches A again on its own (A has no configured
peers: only B can bring the sites back together) and both sites list all nodes again within a bound of
heartbeats, and requests are routed across both ways. Without B's retry of configured peers missing from
its table, B (which still knows S) would never call A again and the sites would stay two swarms.
Long soaks at the default heartbeat: ``bench/partition_heal.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.integration.test_nat import chat, wait_for
from tests.netlab import NOT_ROOT, NatLab, missing_tools
from tests.partitionlab import (
    RPC_TIMEOUT_S,
    cut,
    heal,
    make_sites,
    models,
    open_lab,
    served_by,
    served_inside,
    wait_merged,
)

pytestmark = [
    pytest.mark.model,
    pytest.mark.slow,
    pytest.mark.skipif(NOT_ROOT, reason="network namespaces and iptables need root"),
]
HEARTBEAT_S = 1.0
# generous, not a speed test (docs/operator.md "Partitions" has the measured times): a join try a
# heartbeat after the heal, the lookups at each node waiting out an RPC timeout to a contact they cannot
# reach, and a loaded 2-core machine
HEAL_BOUND_S = 10 * HEARTBEAT_S + 3 * RPC_TIMEOUT_S


@pytest.fixture
def lab() -> Iterator[NatLab]:
    missing = missing_tools()
    assert missing is None, missing
    nat = open_lab(f"p{os.getpid() % 10000}")  # a run's own namespaces (``open`` clears a same-named lab)
    try:
        yield nat
    finally:
        nat.close()


async def test_each_site_serves_through_a_partition_and_the_sites_rejoin_when_it_heals(
    lab: NatLab, nodes: Nodes, node_logs: Path
) -> None:
    sites = make_sites(lab, node_logs, HEARTBEAT_S)
    for node in sites.nodes:
        nodes.started.append(node)
        node.start()
    a, b = sites.a, sites.b
    a_id, site_b = sites.ids()
    wait_for(lambda: served_by(a, GEMMA, site_b) and served_by(b, SMOL, {a_id}), 60, "routing across")
    assert wait_merged(sites, a_id, site_b, 60) is not None, "both sites listed all nodes before the cut"

    cut(lab)  # the link between the sites is cut
    try:
        # at once, while site B's records may still live: the forward fails over and ends in a clear error
        started = time.monotonic()
        cut_off = chat(a, GEMMA)
        waited = time.monotonic() - started
        assert cut_off.status_code == 503, cut_off.text
        assert waited < 20, f"{waited:.1f}s: bounded connect timeout and failover, not the forward timeout"
        assert "error" in cut_off.json()
        print(
            f"partition: a request for the cut-off model failed with {cut_off.status_code} in {waited:.1f}s"
        )
        wait_for(lambda: GEMMA not in models(a), 60, "site B's model to leave A's view (records expired)")
        started = time.monotonic()
        refused = chat(a, GEMMA)
        # still a 503 (the swarm served it lately: unreachable, not unknown), never a 404
        assert refused.status_code == 503, refused.text
        assert time.monotonic() - started < 10, "a request for an unreachable site's model must not hang"
        assert "error" in refused.json()
        # each site goes on serving its own model
        own = chat(a, SMOL)
        assert own.status_code == 200 and own.headers.get("x-llamanet-node", a_id) == a_id, own.text
        assert served_inside(lab, GEMMA), "B, asked from inside its own site, serves its model"
    finally:
        heal(lab)  # the partition heals

    # B calls A again by itself and the sites are one swarm again: both list all nodes, routed both ways
    merge = wait_merged(sites, a_id, site_b, 90)
    assert merge is not None, "the sites did not list all nodes again within 90 s of the heal"
    took, beats = merge.seconds, merge.seconds / HEARTBEAT_S
    print(f"partition: both sites listed all nodes {took:.1f}s ({beats:.1f} heartbeats) after the heal")
    print(f"partition: each view first held after (s): {merge.views}")
    assert took < HEAL_BOUND_S, f"re-merged in {took:.1f}s, over {HEAL_BOUND_S:.0f}s: {merge.views}"
    wait_for(lambda: served_by(a, GEMMA, site_b) and served_by(b, SMOL, {a_id}), 60, "routing across again")
