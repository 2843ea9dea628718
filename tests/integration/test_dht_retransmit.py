"""A lost first datagram costs a retransmit, not the RPC timeout (issue 14 item 4): a node joins a seed
over a real lossy UDP path on 127.0.0.1 (a proxy that drops the first datagram each way) well within the
RPC timeout; with retransmits off the same join waits the whole timeout and fails."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity

pytestmark = pytest.mark.timeout(60)
HOST = "127.0.0.1"
TIMEOUT_S = 4.0


class _Side(asyncio.DatagramProtocol):
    def __init__(self, forward: Any) -> None:
        self.forward = forward
        self.transport: Any = None
        self.seen = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.seen += 1
        if self.seen > 1:  # the first datagram each way is lost
            self.forward(data, addr)


class LossyProxy:
    """Forwards datagrams between one client and ``upstream``, dropping the first one in each direction."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.client: tuple[str, int] | None = None
        self.front = _Side(self._out)
        self.back = _Side(self._in)

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self.front, local_addr=(HOST, 0))
        await loop.create_datagram_endpoint(lambda: self.back, local_addr=(HOST, 0))
        return int(self.front.transport.get_extra_info("sockname")[1])

    def _out(self, data: bytes, addr: tuple[str, int]) -> None:
        self.client = addr
        self.back.transport.sendto(data, self.upstream)

    def _in(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.client is not None:
            self.front.transport.sendto(data, self.client)

    def close(self) -> None:
        self.front.transport.close()
        self.back.transport.close()


async def join_through_loss(config: SwarmConfig) -> tuple[float, SwarmNode, SwarmNode]:
    seed = SwarmNode(NodeIdentity.generate(), config)
    await seed.start(HOST, 0)
    proxy = LossyProxy((HOST, seed.dht_port))
    port = await proxy.start()
    joiner = SwarmNode(NodeIdentity.generate(), config)
    began = time.monotonic()
    try:
        await joiner.start(HOST, 0, [f"{HOST}:{port}"])
        took = time.monotonic() - began
    finally:
        proxy.close()
    return took, seed, joiner


async def test_a_join_over_a_path_that_loses_the_first_datagrams_finishes_well_within_the_timeout() -> None:
    took, seed, joiner = await join_through_loss(SwarmConfig(rpc_timeout_s=TIMEOUT_S))
    try:
        assert joiner.joined
        assert took < TIMEOUT_S / 2, f"the join took {took:.2f}s of a {TIMEOUT_S}s RPC timeout"
        # filed both ways at their own (signed) contacts, not at the proxy
        assert {p["id"]: p["port"] for p in joiner.status()["peers"]} == {seed.node_id: seed.dht_port}
        assert {p["id"]: p["port"] for p in seed.status()["peers"]} == {joiner.node_id: joiner.dht_port}
        assert joiner.server.swarm_protocol.retransmits >= 2  # the ping, then the lost answer's retry
    finally:
        await asyncio.gather(joiner.stop(), seed.stop())


async def test_without_retransmits_the_same_join_waits_the_whole_timeout() -> None:
    took, seed, joiner = await join_through_loss(SwarmConfig(rpc_timeout_s=TIMEOUT_S, rpc_retries=0))
    try:
        assert not joiner.joined
        assert took >= TIMEOUT_S
    finally:
        await asyncio.gather(joiner.stop(), seed.stop())
