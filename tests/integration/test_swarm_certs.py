"""A real node (a real model) started with ``--swarm-authority`` and ``--swarm-cert-file``, its certificate
issued by the real ``llamanet swarm`` command, and in-process peers on its DHT over real UDP: a certified
member, a forger with its own "authority", an uncertified peer and a member whose certificate expires.

- ``/swarm/nodes`` lists the certified member, never the forger nor the uncertified peer; the expiring
  member drops out once its certificate ends.
- Forwarded requests (signed forward proofs, no swarm secret, to a node with an API key) are taken from
  the certified member and refused with a 401 from the others, and from the expired member.
- The node's own record carries the chain from its file, re-read each heartbeat: a peer trusting the same
  root lists it, stops listing it when the file holds a certificate for another model, and lists it
  again once a good one is back.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from llamanet.swarm.node import SwarmNode
from llamanet.swarm.validation import RecordLimits
from llamanet_common.certs import issue_certificate
from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import ForwardSigner
from llamanet_common.record import RecordFields
from tests.integration.conftest import SMOL, Nodes
from tests.swarmrecords import HOST, eventually, fast_config

pytestmark = [pytest.mark.model, pytest.mark.slow]
KEY = "cert-users-key"
AUTH = {"authorization": f"Bearer {KEY}"}
CONFIG = fast_config()


def llamanet(*args: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "llamanet", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def issue(root_key: Path, subject: str, out: Path, *flags: str) -> None:
    llamanet(
        "swarm",
        "cert",
        "issue",
        "--authority-key",
        str(root_key),
        "--subject",
        subject,
        *flags,
        "--out",
        str(out),
    )


@pytest.fixture(scope="module")
def world(node_logs: Path, model_cache: object, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    root_key = node_logs / "cert-root.pem"
    root = llamanet("swarm", "authority", "create", "--out", str(root_key))
    chain_file = node_logs / "cert-node-chain.json"
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    args = ("--n-ctx", "512", "--n-parallel", "2", "--heartbeat-interval", "1", "--api-key", KEY,
            "--swarm-authority", root, "--swarm-cert-file", str(chain_file))  # fmt: skip
    node = nodes.start(SMOL, *args, name="cert-node", wait=False)
    issue(root_key, node.identity().public_key_hex, chain_file, "--models", SMOL, "--hours", "1")
    node.start()
    yield {
        "url": node.url,
        "dht": f"{HOST}:{node.dht_port}",
        "id": node.identity().node_id,
        "root": root,
        "root_key": NodeIdentity.load_or_create(root_key),
        "root_key_path": root_key,
        "chain_file": chain_file,
        "identity": node.identity(),
        "proc": node,
    }
    nodes.stop_all(request.session.testsfailed > failed_before)


class Peers:
    """In-process SwarmNodes on the node's DHT, each publishing a record with a chain of its own."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.started: list[SwarmNode] = []

    async def add(self, cert: Any, *, authorities: frozenset[str] = frozenset()) -> SwarmNode:
        identity = NodeIdentity.generate()
        chain = cert(identity) if cert else None
        fields = RecordFields(
            urls=["http://127.0.0.1:9"], models=[SMOL], slots_total=1, slots_free=1, cert=chain
        )
        config = replace(CONFIG, limits=replace(CONFIG.limits, authorities=authorities))
        peer = SwarmNode(identity, config, record_factory=lambda: fields)
        await peer.start(HOST, 0, [self.bootstrap])
        self.started.append(peer)
        return peer

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop(withdraw=False) for p in self.started))


@pytest.fixture
async def peers(world: dict[str, Any]) -> AsyncIterator[Peers]:
    p = Peers(world["dht"])
    yield p
    await p.stop()


def by(root: NodeIdentity, seconds: float = 3600, **kw: Any) -> Any:
    def make(identity: NodeIdentity) -> list[dict[str, Any]]:
        now = int(time.time())
        subject = identity.public_key_hex
        return [
            issue_certificate(root, subject=subject, not_before=now - 5, not_after=int(now + seconds), **kw)
        ]

    return make


async def listed(client: httpx.AsyncClient, world: dict[str, Any]) -> set[str]:
    r = await client.get(f"{world['url']}/swarm/nodes", headers=AUTH)
    return {n["node_id"] for n in r.json()["nodes"]}


async def forward_status(
    client: httpx.AsyncClient, world: dict[str, Any], sender: NodeIdentity
) -> httpx.Response:
    headers = ForwardSigner(sender, None).headers("GET", "/status", b"", world["id"], 0)
    return await client.get(f"{world['url']}/status", headers=headers)


async def test_only_certified_peers_are_listed_and_forward_work(world: dict[str, Any], peers: Peers) -> None:
    member = await peers.add(by(world["root_key"]))
    forger = await peers.add(by(NodeIdentity.generate()))  # a certificate from the forger's own key
    stranger = await peers.add(None)
    async with httpx.AsyncClient(timeout=30) as client:

        async def member_listed() -> bool:
            return member.node_id in await listed(client, world)

        await eventually(member_listed, timeout=15)
        await asyncio.sleep(2)  # two more heartbeats of everyone's records
        seen = await listed(client, world)
        assert forger.node_id not in seen and stranger.node_id not in seen
        assert (await forward_status(client, world, member.identity)).status_code == 200
        for outsider in (forger.identity, stranger.identity, NodeIdentity.generate()):
            r = await forward_status(client, world, outsider)
            assert r.status_code == 401, r.text
            assert "not a certified member" in r.json()["error"]["message"]
        assert (await client.get(f"{world['url']}/status")).status_code == 401  # users still need the key


async def test_an_expired_certificate_drops_the_peer_and_its_forwarded_work(
    world: dict[str, Any], peers: Peers
) -> None:
    # valid long enough to be listed and forward on a loaded machine, short enough to watch it end
    expiring = await peers.add(by(world["root_key"], seconds=20))
    async with httpx.AsyncClient(timeout=30) as client:

        async def seen() -> bool:
            return expiring.node_id in await listed(client, world)

        await eventually(seen, timeout=15)
        assert (await forward_status(client, world, expiring.identity)).status_code == 200

        async def gone() -> bool:
            return not await seen()

        await eventually(gone, timeout=20 + 5 + 2 + 8)  # validity, default skew, a heartbeat, slack
        r = await forward_status(client, world, expiring.identity)
        assert r.status_code == 401 and "not a certified member" in r.json()["error"]["message"]


async def test_the_nodes_own_chain_is_published_and_re_read_each_heartbeat(
    world: dict[str, Any], peers: Peers
) -> None:
    roots = frozenset({world["root"]})
    reader = await peers.add(by(world["root_key"]), authorities=roots)

    async def lists_node() -> bool:
        return world["id"] in {r.node_id for r in await reader.get_nodes()}

    async def drops_node() -> bool:
        # the node itself saw its new chain refused (it re-read the file), and the peer no longer lists it
        # (a lookup that merely timed out on a loaded machine must not pass for the drop)
        refused = "membership certificate refused" in world["proc"].log_path.read_text()
        return refused and not await lists_node()

    await eventually(lists_node, timeout=15)
    good = world["chain_file"].read_text()
    issue(
        world["root_key_path"],
        world["identity"].public_key_hex,
        world["chain_file"],
        "--models",
        "another-model",
    )
    try:
        await eventually(drops_node, timeout=20)
    finally:
        world["chain_file"].write_text(good)
    await eventually(lists_node, timeout=20)
    log = world["proc"].log_path.read_text()
    assert "trust: swarm authority set" in log and world["root"] in log
    assert "membership certificate refused" in log and "outside the certificate" in log
    assert json.loads(good)[0]["models"] == [SMOL]
    assert RecordLimits().max_record_bytes == 2048
