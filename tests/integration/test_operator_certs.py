"""The operator's certificate issuing against real nodes: two sites, each with its own site authority
delegated by one root, each node with its own API key and no swarm secret (a LlamaNode with
``apiKeySecretRef`` and no ``swarm.secretRef``), started uncertified with ``SWARM_AUTHORITY`` and
``SWARM_CERT_FILE`` as the operator's pods are.

The operator's own code does its part: ``scrape.parse_metrics`` reads each node's public key from its
real ``/metrics``, ``certificates.plan_certificates`` issues the chains, the test writes each pod's entry
to its file (the kubelet's part with the ConfigMap), and ``certified`` counts what the nodes then report.
The nodes then list each other and a keyed node takes the other site's forwarded work (the way across
sites without a shared secret); the Kubernetes side is e2e's (``e2e/test_authority.py``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llamanet_common.certs import issue_certificate
from llamanet_common.identity import NodeIdentity
from llamanet_operator.authority import Authority, authority_problem
from llamanet_operator.certificates import Wanted, certified, plan_certificates
from llamanet_operator.scrape import NodeSample, parse_metrics
from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.nodeproc import NodeProcess
from tests.swarmrecords import wait_for

pytestmark = [pytest.mark.model, pytest.mark.slow]
ROOT = NodeIdentity.generate()
ROOTS = frozenset({ROOT.public_key_hex})
KEYS = {"a": "site-a-users-key", "b": "site-b-users-key"}


def site_authority(site: str, model: str) -> Authority:
    key, now = NodeIdentity.generate(), int(time.time())
    delegation = issue_certificate(ROOT, subject=key.public_key_hex, role="authority", models=[model],
                                   sites=[site], not_before=now - 60, not_after=now + 86400)  # fmt: skip
    authority = Authority(key, [delegation], ROOTS)
    assert authority_problem(authority, now) is None
    return authority


def sample(node: NodeProcess) -> NodeSample:
    got = parse_metrics(httpx.get(f"{node.url}/metrics", timeout=10).text)  # no API key: as the operator
    assert got is not None
    return got


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture(scope="module")
def sites(node_logs: Path, session_nodes: Nodes) -> Iterator[dict[str, Any]]:
    certs = node_logs / "certs"  # the mounted ConfigMap <name>-certs: one file per pod
    certs.mkdir(exist_ok=True)
    args = ("--n-ctx", "512", "--n-parallel", "2", "--heartbeat-interval", "1",
            "--swarm-authority", ROOT.public_key_hex)  # fmt: skip
    a = session_nodes.start(SMOL, *args, "--site", "a", "--api-key", KEYS["a"],
                            "--swarm-cert-file", str(certs / "a-0"), name="op-a-0")  # fmt: skip
    b = session_nodes.start(GEMMA, *args, "--site", "b", "--api-key", KEYS["b"],
                            "--swarm-cert-file", str(certs / "b-0"),
                            "--bootstrap-nodes", f"127.0.0.1:{a.dht_port}", name="op-b-0")  # fmt: skip
    yield {"certs": certs, "a": a, "b": b}


def operator_pass(site: str, node: NodeProcess, authority: Authority, model: str, certs: Path) -> list[str]:
    """One observe tick of the site's operator for its one pod ``<site>-0``: the pods it (re)issued."""
    pod = f"{site}-0"
    existing = {pod: (certs / pod).read_text()} if (certs / pod).exists() else {}
    key = sample(node).public_key
    assert key is not None and key == node.identity().public_key_hex  # the key the node signs with
    plan = plan_certificates(
        Wanted(authority, [model], [site], 3600), {pod: key}, [pod], existing, time.time()
    )
    for name, text in plan.data.items():
        if existing.get(name) != text:
            write_atomic(certs / name, text)
    return plan.issued


def test_operator_certified_keyed_nodes_list_each_other_and_forward_across_sites(
    sites: dict[str, Any],
) -> None:
    a, b, certs = sites["a"], sites["b"], sites["certs"]
    assert sample(a).cert_not_after == 0 and sample(b).cert_not_after == 0  # started uncertified
    authorities = {"a": site_authority("a", SMOL), "b": site_authority("b", GEMMA)}
    assert operator_pass("a", a, authorities["a"], SMOL, certs) == ["a-0"]
    assert operator_pass("b", b, authorities["b"], GEMMA, certs) == ["b-0"]

    # the nodes read their files at the next heartbeat and report a chain their authorities accept
    def counted() -> bool:
        return certified([sample(n).cert_not_after for n in (a, b)], time.time()) == 2

    wait_for(counted, 30, "both nodes to report an accepted certificate (status.certificates 2/2)")
    assert operator_pass("a", a, authorities["a"], SMOL, certs) == []  # valid: kept, nothing to apply

    ids = {n.identity().node_id for n in (a, b)}

    def listed(node: NodeProcess, key: str) -> set[str]:
        r = httpx.get(f"{node.url}/swarm/nodes", headers={"authorization": f"Bearer {key}"}, timeout=10)
        return {n["node_id"] for n in r.json()["nodes"]}

    wait_for(lambda: listed(a, KEYS["a"]) >= ids and listed(b, KEYS["b"]) >= ids, 30, "both listed")
    # a user of site a asks for site b's model: A forwards it to the keyed B, no swarm secret needed
    body = {"model": GEMMA, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4}
    r = httpx.post(f"{a.url}/v1/chat/completions", json=body, timeout=120,
                   headers={"authorization": f"Bearer {KEYS['a']}"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["x-llamanet-node"] == b.identity().node_id
