"""Islands join (issue 15): real UDP nodes on 127.0.0.1. A node whose own site's seed answered keeps
trying the other site's peer until it comes up, and reaches it again after that peer was gone and came
back (a partition between sites that healed), so the two sites end up in one swarm."""

from __future__ import annotations

import asyncio

import pytest

from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from tests.integration.test_dht_swarm import HOST, _sees, addr, config, eventually, free_udp_port, start_node

pytestmark = pytest.mark.timeout(90)


async def test_a_node_whose_own_site_answered_still_reaches_the_other_site_when_it_comes_up() -> None:
    own_seed = await start_node(models=("b-model",))
    other_port = free_udp_port()
    joiner = await start_node([addr(own_seed), f"{HOST}:{other_port}"], models=("b-model",))
    running = [own_seed, joiner]
    try:
        assert joiner.joined, "its own site's seed answered"
        await asyncio.sleep(1.0)  # the other site is not up yet: several backoff rounds go unanswered
        other = await start_node(port=other_port, models=("a-model",))  # knows nobody: found only if asked
        running.append(other)
        await eventually(lambda: _sees(other, joiner.node_id), timeout=20.0)
        await eventually(lambda: _sees(joiner, other.node_id, "a-model"), timeout=20.0)
        # the whole island came along: the other site also finds the joiner's own seed
        await eventually(lambda: _sees(other, own_seed.node_id, "b-model"), timeout=20.0)
    finally:
        await asyncio.gather(*(n.stop(withdraw=False) for n in running))


async def test_a_peer_that_was_gone_and_came_back_with_an_empty_table_is_joined_again() -> None:
    own_seed = await start_node()
    other_port = free_udp_port()
    identity = NodeIdentity.generate()
    other = SwarmNode(identity, config(), record_factory=None)
    await other.start(HOST, other_port)
    joiner = await start_node([addr(own_seed), f"{HOST}:{other_port}"])
    try:
        await eventually(lambda: _has_contact(joiner, other))
        await other.stop(withdraw=False)  # the far side is cut off: its contact times out and is dropped

        async def dropped() -> bool:
            return identity.node_id_bytes not in joiner.server.table_ids()

        await eventually(dropped, timeout=30.0)
        # it comes back (the partition healed) knowing nobody; only the joiner can bring it back in
        other = SwarmNode(identity, config(), record_factory=None)
        await other.start(HOST, other_port)
        await eventually(lambda: _has_contact(other, joiner), timeout=30.0)
        await eventually(lambda: _sees(other, own_seed.node_id), timeout=20.0)
    finally:
        await asyncio.gather(*(n.stop(withdraw=False) for n in (joiner, own_seed, other)))


async def _has_contact(node: SwarmNode, peer: SwarmNode) -> bool:
    return peer.identity.node_id_bytes in node.server.table_ids()
