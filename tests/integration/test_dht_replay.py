"""A real SwarmNode on loopback against a hostile process replaying one captured frame (issue 14 item 4):
the frame is answered once, its replays not at all, from the same or any source; a frame stamped outside
the replay window is dropped; a fresh frame still gets its answer."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import pytest
import umsgpack
from kademlia.utils import digest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.keys import ALL_NODES_KEY
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.wire import Contact, encode_frame
from llamanet_common.identity import NodeIdentity

HOST = "127.0.0.1"

pytestmark = pytest.mark.timeout(60)
REPLAYER = [sys.executable, "-m", "tests.udpreplay"]


async def replay(port: int, datagram: bytes, times: int, wait: float = 1.0) -> int:
    """How many answers a separate process gets for sending ``datagram`` ``times`` times (awaited: the
    node answers on this test's event loop)."""
    proc = await asyncio.create_subprocess_exec(
        *REPLAYER, str(port), datagram.hex(), str(times), str(wait), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    return int(out.decode().strip())


@pytest.fixture
async def node() -> AsyncIterator[SwarmNode]:
    swarm_node = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=0.5, frame_window_s=30))
    await swarm_node.start(HOST, 0)
    yield swarm_node
    await swarm_node.stop()


def request(method: str, *args: object) -> bytes:
    """A client's request frame (answered at its source, the sender never filed)."""
    rpc = b"\x00" + os.urandom(20) + umsgpack.packb([method, [os.urandom(20), *args]])
    return encode_frame(rpc, secret=None, client=True, contact=Contact("", 0))


def find_entries() -> bytes:
    """A ``find_entries`` request (its answer is many times its size: the reflector of issue 14)."""
    return request("find_entries", digest(ALL_NODES_KEY), "")


async def test_a_captured_frame_is_answered_once_and_its_replays_never(node: SwarmNode) -> None:
    frame = find_entries()
    assert await replay(node.dht_port, frame, 20) == 1, "the first copy is answered, the 19 replays are not"
    assert await replay(node.dht_port, frame, 5) == 0, "a replay from another source address is dropped too"
    assert await replay(node.dht_port, find_entries(), 1) == 1, "a fresh frame is answered"
    assert node.status()["dropped_datagrams"] >= 24


async def test_a_frame_stamped_outside_the_window_is_dropped(node: SwarmNode) -> None:
    fresh = request("ping")
    # the same frame with its timestamp (bytes 3..10 of the header) moved 5 minutes into the past
    stamp = int.from_bytes(fresh[3:11], "big") - 300_000
    stale = fresh[:3] + stamp.to_bytes(8, "big") + os.urandom(8) + fresh[19:]
    assert await replay(node.dht_port, stale, 1) == 0
    future = fresh[:3] + (stamp + 600_000).to_bytes(8, "big") + os.urandom(8) + fresh[19:]
    assert await replay(node.dht_port, future, 1) == 0
    assert await replay(node.dht_port, fresh, 1) == 1
