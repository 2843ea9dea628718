"""A real SwarmNode on loopback against a hostile process (issue 14 item 4): a captured frame is answered
once, its replays not at all, from the same or any source; a frame stamped outside the replay window is
dropped; a fresh frame still gets its answer. A sender that never proved its address (a spoofed source)
gets at most 3x the bytes it sent, measured."""

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
from llamanet.swarm.validation import RecordLimits
from llamanet.swarm.wire import REQUEST_PAD_BYTES, Contact, encode_frame
from llamanet_common.identity import NodeIdentity
from tests.integration.test_dht_swarm import addr, eventually, start_node

HOST = "127.0.0.1"

pytestmark = pytest.mark.timeout(60)
REPLAYER = [sys.executable, "-m", "tests.udpreplay"]


async def exchange(port: int, datagram: bytes, times: int, wait: float = 1.0) -> tuple[int, int]:
    """How many answers, and how many bytes in all, a separate process gets for sending ``datagram``
    ``times`` times (awaited: the node answers on this test's event loop)."""
    proc = await asyncio.create_subprocess_exec(
        *REPLAYER, str(port), datagram.hex(), str(times), str(wait), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    replies, received = out.decode().split()
    return int(replies), int(received)


async def replay(port: int, datagram: bytes, times: int, wait: float = 1.0) -> int:
    return (await exchange(port, datagram, times, wait))[0]


@pytest.fixture
async def node() -> AsyncIterator[SwarmNode]:
    swarm_node = SwarmNode(NodeIdentity.generate(), SwarmConfig(rpc_timeout_s=0.5, frame_window_s=30))
    await swarm_node.start(HOST, 0)
    yield swarm_node
    await swarm_node.stop()


def request(method: str, *args: object, pad_to: int = 0) -> bytes:
    """A client's request frame (answered at its source, the sender never filed)."""
    rpc = b"\x00" + os.urandom(20) + umsgpack.packb([method, [os.urandom(20), *args]])
    return encode_frame(rpc, secret=None, client=True, contact=Contact("", 0), pad_to=pad_to)


def find_entries(pad_to: int = 0) -> bytes:
    """A ``find_entries`` request (its answer was many times its size: the reflector of issue 14)."""
    return request("find_entries", digest(ALL_NODES_KEY), "", pad_to=pad_to)


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


async def test_an_unproven_sender_gets_at_most_three_times_what_it_sent() -> None:
    members = [await start_node(models=("tiny",))]
    for _ in range(3):
        members.append(await start_node([addr(members[0])], models=("tiny",)))
    try:
        node = members[0]

        async def all_listed() -> bool:
            return len(await node.get_nodes()) == len(members)

        await eventually(all_listed, timeout=20.0)
        # an unpadded request (about 80 bytes) for a page of 4 signed records: none fits 3x, so no answer
        small = find_entries()
        _, small_received = await exchange(node.dht_port, small, 1)
        assert small_received <= 3 * len(small), f"amplification {small_received / len(small):.1f}x"
        # a request padded as nodes pad theirs gets a page (and the lookup goes on from its cursor)
        padded = find_entries(REQUEST_PAD_BYTES)
        replies, received = await exchange(node.dht_port, padded, 1)
        assert replies == 1 and received <= 3 * len(padded), f"{received / len(padded):.1f}x"
        ratios = (small_received / len(small), received / len(padded))
        print("amplification: unpadded {:.2f}x, padded {:.2f}x".format(*ratios))
    finally:
        await asyncio.gather(*(m.stop(withdraw=False) for m in members))


async def test_three_hundred_sybil_keys_leave_the_honest_node_findable() -> None:
    # issue 14: 256 fresh key pairs (longer-lived entries) pushed every honest entry out of model:X and
    # the honest republish was then refused. Here the sybils' entries live 60 s, the honest one 1.5 s.
    limits = RecordLimits(max_ttl_s=60.0, clock_skew_s=1.0)
    honest = await start_node(models=("tiny",), limits=limits)
    reader = await start_node([addr(honest)], models=("other",), limits=limits)

    def stores_honest(node: SwarmNode) -> bool:
        return honest.node_id in {e["node_id"] for e in node.status()["storage"].get("model:tiny", [])}

    async def everywhere() -> bool:
        return stores_honest(honest) and stores_honest(reader)

    async def found() -> bool:
        return honest.node_id in {r.node_id for r in await reader.get_nodes("tiny")}

    try:
        await eventually(everywhere, timeout=20.0)
        ports = f"{honest.dht_port},{reader.dht_port}"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.sybilstore", ports, "tiny", "300", "60",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        accepted = int(out.decode())
        # one source address holds at most 64 entries of a key at each storing peer
        assert 0 < accepted <= 2 * 64, accepted
        # the honest node keeps its place at both storing peers (it renews every 0.5 s) and is found
        await asyncio.sleep(2.0)  # past the honest entry's own lifetime: only renewals keep it
        await eventually(everywhere, timeout=10.0)
        await eventually(found, timeout=10.0)
    finally:
        await asyncio.gather(honest.stop(withdraw=False), reader.stop(withdraw=False))
