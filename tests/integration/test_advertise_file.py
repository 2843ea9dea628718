"""``ADVERTISE_FILE`` (the operator's per-pod addresses): a node's DHT peer, as ``llamanet node`` builds
it, republishes with the file's DHT address and URLs when the file changes. Real UDP on loopback: the
node binds every interface, so both advertised hosts (127.0.0.1, 127.0.0.2) really reach it."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from llamanet.membership import load_identity, make_swarm_node
from llamanet.node import Node
from llamanet.settings import Settings
from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import NodeRecord, RecordFields

pytestmark = pytest.mark.timeout(60)

HEARTBEAT = 0.3


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def write(path: Path, host: str, port: int, url: str) -> None:
    tmp = path.with_suffix(".tmp")  # as the kubelet does: the new content appears at once
    tmp.write_text(json.dumps({"dht": {"host": host, "port": port}, "urls": [url]}))
    tmp.replace(path)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


@pytest.fixture
async def seed() -> AsyncIterator[SwarmNode]:
    fields = RecordFields(urls=["http://127.0.0.1:1"], models=["seed"])
    node = SwarmNode(NodeIdentity.generate(), SwarmConfig(heartbeat_interval_s=HEARTBEAT), lambda: fields)
    await node.start("127.0.0.1", 0, [])
    yield node
    await node.stop(withdraw=False)


async def start_node(seed: SwarmNode, advertise_file: Path, port: int) -> SwarmNode:
    """A node's DHT peer as ``llamanet node`` makes it (``membership``), joined to ``seed``."""
    settings = Settings(
        host="0.0.0.0", dht_port=port, heartbeat_interval=HEARTBEAT, advertise_file=advertise_file
    )
    identity = load_identity(settings)
    swarm = make_swarm_node(Node(settings=settings, node_id=identity.node_id, model_name="m"), identity)
    await swarm.start("0.0.0.0", port, [f"127.0.0.1:{seed.dht_port}"])
    return swarm


async def seen_by(seed: SwarmNode, node_id: str) -> NodeRecord | None:
    return next((r for r in await seed.get_nodes() if r.node_id == node_id), None)


async def test_the_node_republishes_when_its_advertise_file_changes(
    seed: SwarmNode, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "pod-0"
    port = free_udp_port()
    write(path, "127.0.0.1", port, "http://127.0.0.1:31000")
    swarm = await start_node(seed, path, port)
    try:
        # the file's address from the first record on
        assert swarm.advertised_address() == ("127.0.0.1", port)
        first = swarm.last_record
        assert first is not None and (first.dht_host, first.urls) == ("127.0.0.1", ["http://127.0.0.1:31000"])

        async def listed(host: str, url: str) -> bool:
            rec = await seen_by(seed, swarm.node_id)
            return rec is not None and (rec.dht_host, rec.dht_port, rec.urls) == (host, port, [url])

        await eventually(lambda: listed("127.0.0.1", "http://127.0.0.1:31000"))

        # the operator publishes another address (e.g. a load balancer's, once assigned)
        write(path, "127.0.0.2", port, "http://127.0.0.2:31001")
        await eventually(lambda: listed("127.0.0.2", "http://127.0.0.2:31001"))
        assert swarm.advertised_address() == ("127.0.0.2", port)
        assert swarm.server.config.advertise_host == "127.0.0.2"  # what the swarm layer sends from

        async def frames_carry(host: str) -> bool:  # the contact in every datagram follows the file
            contact = swarm.server.swarm_protocol.transport.contact
            return (contact.host, contact.port) == (host, port)

        await eventually(lambda: frames_carry("127.0.0.2"))

        # a bad content is logged and the last good address kept; so is a file that disappears
        with caplog.at_level(logging.WARNING, logger="llamanet.membership"):
            path.write_text('{"dht": {"host": "x"}}')
            await asyncio.sleep(HEARTBEAT * 3)
        assert "keeping the advertised address" in caplog.text
        path.unlink()
        await asyncio.sleep(HEARTBEAT * 2)
        assert await listed("127.0.0.2", "http://127.0.0.2:31001")
    finally:
        await swarm.stop(withdraw=False)


async def test_without_the_file_the_settings_address_is_used_until_it_appears(
    seed: SwarmNode, tmp_path: Path
) -> None:
    path = tmp_path / "pod-1"
    port = free_udp_port()
    swarm = await start_node(seed, path, port)
    try:
        record = swarm.last_record
        assert record is not None and record.dht_port == port
        assert record.urls == [f"http://{record.dht_host}:8000"]  # the settings' defaults
        write(path, "127.0.0.2", port, "http://127.0.0.2:31002")

        async def moved() -> bool:
            rec = await seen_by(seed, swarm.node_id)
            return rec is not None and (rec.dht_host, rec.urls) == ("127.0.0.2", ["http://127.0.0.2:31002"])

        await eventually(moved)
    finally:
        await swarm.stop(withdraw=False)
