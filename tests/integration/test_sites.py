"""Real nodes at two sites: residency (``--route-sites``, the allowed-sites header, the client's
``allowed_sites``) and the own-site preference.

site-a: A (SmolLM2) and C (Gemma 3); site-b: B (Gemma 3, one slot) restricted to its own site.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from llamanet.client import Client
from llamanet.client.errors import NoNodeAvailableError
from llamanet.routing.sites import ALLOWED_SITES_HEADER
from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.nodeproc import NodeProcess
from tests.swarmrecords import wait_for

pytestmark = [pytest.mark.model, pytest.mark.slow]
ARGS = ("--n-ctx", "512", "--heartbeat-interval", "1")


def own_id(node: NodeProcess) -> str:
    return httpx.get(f"{node.url}/status", timeout=10).json()["node_id"]  # type: ignore[no-any-return]


def chat(node: NodeProcess, model: str, sites: str | None = None, max_tokens: int = 4) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": max_tokens}
    headers = {ALLOWED_SITES_HEADER: sites} if sites is not None else {}
    return httpx.post(f"{node.url}/v1/chat/completions", json=body, headers=headers, timeout=120)


def occupy(node: NodeProcess, max_tokens: int = 120) -> None:
    """Keep one slot of ``node`` busy for ``max_tokens`` tokens: a raw prompt that cannot end early (no
    end-of-text or end-of-turn token: Gemma 3's 1 and 106), unlike a chat that may answer in 3 tokens."""
    no_end = {"0": -100, "1": -100, "2": -100, "106": -100}
    body = {
        "model": GEMMA,
        "prompt": "Count: 1, 2,",
        "raw": True,
        "max_tokens": max_tokens,
        "logit_bias": no_end,
    }
    httpx.post(f"{node.url}/generate", json=body, timeout=120)


@pytest.fixture(scope="module")
def sites(session_nodes: Nodes) -> Iterator[dict[str, NodeProcess]]:
    a = session_nodes.start(SMOL, *ARGS, "--n-parallel", "2", "--site", "site-a", name="site-a-smol")
    boot = ("--bootstrap-nodes", f"127.0.0.1:{a.dht_port}")
    c = session_nodes.start(GEMMA, *ARGS, "--n-parallel", "2", "--site", "site-a", *boot, name="site-a-gemma")
    b = session_nodes.start(
        GEMMA, *ARGS, "--n-parallel", "1", "--site", "site-b", "--route-sites", "site-b", *boot, name="site-b"
    )
    members = {"a": a, "b": b, "c": c}
    ids = {own_id(n) for n in members.values()}
    for node in members.values():
        wait_for(
            lambda n=node: {x["node_id"] for x in httpx.get(f"{n.url}/swarm/nodes").json()["nodes"]} >= ids,
            30,
            "every node to see all three",
        )
    yield members


def test_own_site_is_preferred_when_loads_are_equal(sites: dict[str, NodeProcess]) -> None:
    c_id = own_id(sites["c"])
    for _ in range(3):
        r = chat(sites["a"], GEMMA)
        assert r.status_code == 200, r.text
        assert r.headers["x-llamanet-node"] == c_id  # C (site-a), not the equally idle B (site-b)


def test_a_restricted_node_refuses_a_model_served_only_at_the_other_site(
    sites: dict[str, NodeProcess],
) -> None:
    r = chat(sites["b"], SMOL)
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "site_not_allowed" and error["type"] == "permission_error"
    assert "served at site-a" in error["message"] and "--route-sites" in error["message"]
    widened = chat(sites["b"], SMOL, sites="site-a,site-b")  # a header never widens the node's policy
    assert widened.status_code == 403 and widened.json()["error"]["code"] == "site_not_allowed"


def test_a_restricted_node_with_full_slots_queues_rather_than_leave_its_site(
    sites: dict[str, NodeProcess],
) -> None:
    b, b_id = sites["b"], own_id(sites["b"])
    long = threading.Thread(target=occupy, args=(b,))
    long.start()
    try:
        wait_for(lambda: httpx.get(f"{b.url}/status").json()["slots_free"] == 0, 30, "B's one slot busy")
        r = chat(b, GEMMA)  # C at site-a is idle, but B may not route there
        assert r.status_code == 200, r.text
        assert r.headers.get("x-llamanet-node", b_id) == b_id
    finally:
        long.join(timeout=120)


def test_the_header_narrows_an_unrestricted_node(sites: dict[str, NodeProcess]) -> None:
    a, b_id = sites["a"], own_id(sites["b"])
    r = chat(a, GEMMA, sites="site-b")
    assert r.status_code == 200, r.text
    assert r.headers["x-llamanet-node"] == b_id  # C (site-a, preferred otherwise) is not allowed
    refused = chat(a, SMOL, sites="site-b")  # A serves it, but A is at site-a
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "site_not_allowed"
    bad = chat(a, SMOL, sites="a,,b")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_allowed_sites"


async def test_the_client_keeps_requests_inside_its_allowed_sites(sites: dict[str, NodeProcess]) -> None:
    c_id = own_id(sites["c"])
    async with Client(bootstrap_nodes=f"127.0.0.1:{sites['a'].dht_port}", allowed_sites="site-a") as client:
        for _ in range(3):
            answer = await client.chat([{"role": "user", "content": "Say hi."}], model=GEMMA, max_tokens=4)
            assert answer.node_id == c_id
    async with Client(bootstrap_nodes=f"127.0.0.1:{sites['a'].dht_port}", allowed_sites="site-b") as client:
        with pytest.raises(NoNodeAvailableError, match="served at site-a; allowed: site-b"):
            await client.chat([{"role": "user", "content": "Say hi."}], model=SMOL, max_tokens=4)
