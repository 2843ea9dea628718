"""The client against real node processes, discovered through a real (in-process, UDP) DHT."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from llamanet.client import (
    Client,
    NoNodeAvailableError,
    RequestRejectedError,
    StreamChunk,
    StreamInterruptedError,
)
from llamanet.swarm.config import SwarmConfig
from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.nodeproc import NodeProcess, free_port
from tests.swarmrecords import RecordSwarm, eventually

pytestmark = [pytest.mark.model, pytest.mark.timeout(300)]

CLIENT_SWARM = SwarmConfig(rpc_timeout_s=1.0)


@pytest.fixture
async def swarm(smol: NodeProcess, gemma: NodeProcess) -> AsyncIterator[RecordSwarm]:
    s = await RecordSwarm().start()
    await s.publish(smol.url, SMOL, "smol", smol.identity())
    await s.publish(gemma.url, GEMMA, "gemma", gemma.identity())
    yield s
    await s.stop()


async def collect(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    return [c async for c in chunks]


async def test_discovery_finds_the_nodes_and_filters_by_model(
    swarm: RecordSwarm, smol: NodeProcess, gemma: NodeProcess
) -> None:
    async with Client(bootstrap_nodes=swarm.bootstrap, swarm_config=CLIENT_SWARM) as client:
        nodes = await client.dht_discovery.get_nodes()
        assert {n.url for n in nodes} == {smol.url, gemma.url}
        assert {n.name for n in nodes} == {"smol", "gemma"}
        assert [n.url for n in await client.get_nodes(GEMMA)] == [gemma.url]
        assert await client.get_nodes("no-such-model") == []
        with pytest.raises(NoNodeAvailableError, match="no node found serving model 'no-such-model'"):
            await client.generate("hi", model="no-such-model", max_tokens=2)


async def test_generate_stream_and_chat_go_to_a_node_serving_the_model(
    swarm: RecordSwarm, smol: NodeProcess, gemma: NodeProcess
) -> None:
    async with Client(bootstrap_nodes=swarm.bootstrap, swarm_config=CLIENT_SWARM) as client:
        res = await client.generate(prompt="What is LlamaNet?", model=SMOL, max_tokens=4, temperature=0.7)
        assert res.text and res.tokens_generated > 0 and res.node_id
        assert (res.url, res.model) == (smol.url, SMOL)

        chunks = await collect(client.generate_stream("Count: 1, 2,", model=GEMMA, max_tokens=4))
        assert chunks[-1].finished and chunks[-1].tokens_generated == 4
        assert all(c.url == gemma.url for c in chunks) and "".join(c.text for c in chunks)

        messages = [{"role": "user", "content": "Say hi."}]
        chat = await client.chat(messages=messages, model=GEMMA, max_tokens=3)
        assert chat.text and chat.url == gemma.url and chat.model == GEMMA and chat.completion_tokens > 0

        streamed = await collect(client.chat_stream(messages, model=SMOL, max_tokens=3))
        assert streamed[-1].finished and streamed[-1].finish_reason in ("length", "stop")
        assert {c.url for c in streamed} == {smol.url}

        with pytest.raises(RequestRejectedError) as info:  # a bad request is not retried elsewhere
            await client.generate("hi", model=SMOL, max_tokens=0)
        assert info.value.status == 400 and not client.bans.snapshot(0.0)


async def test_failover_when_the_chosen_node_is_dead(smol: NodeProcess, nodes: Nodes) -> None:
    doomed = nodes.start(SMOL, "--n-ctx", "256", "--n-parallel", "1", name="doomed")
    swarm = await RecordSwarm().start()
    try:
        await _failover(swarm, smol, doomed)
    finally:
        await swarm.stop()


async def _failover(swarm: RecordSwarm, smol: NodeProcess, doomed: NodeProcess) -> None:
    # The doomed node advertises itself as idle and the live one as saturated: it is the first choice.
    await swarm.publish(doomed.url, SMOL, "doomed", doomed.identity(), slots_total=4, slots_free=4)
    await swarm.publish(
        smol.url, SMOL, "smol-busy", smol.identity(), slots_total=8, slots_free=0, queue_depth=9
    )
    await swarm.publish(doomed.url.replace("127.0.0.1", "localhost"), "only-doomed", "doomed-alias")
    assert doomed.proc is not None
    doomed.proc.kill()
    doomed.proc.wait()

    # Without probes the order follows the records, so the dead node really is tried first.
    async with Client(
        bootstrap_nodes=swarm.bootstrap, swarm_config=CLIENT_SWARM, probe=False, ban_base_s=60
    ) as client:
        await eventually(lambda: _sees(client, 2, SMOL))
        plan, _ = await client._planner.plan(SMOL)
        assert plan[0].url == doomed.url
        doomed_id = plan[0].key  # bans are keyed by the record's node id
        res = await client.generate("Hello", model=SMOL, max_tokens=2)
        assert res.url == smol.url
        assert doomed_id in client.bans.snapshot(_now())
        chunks = await collect(client.generate_stream("Hello", model=SMOL, max_tokens=2))
        assert chunks[-1].finished and chunks[-1].url == smol.url

        with pytest.raises(NoNodeAvailableError) as info:  # the only node serving this model is dead
            await client.generate("Hello", model="only-doomed", max_tokens=2)
        assert [url for url, _ in info.value.failures] == [doomed.url.replace("127.0.0.1", "localhost")]
        assert isinstance(info.value.__cause__, Exception)

    # With power-of-two probes the dead node is found by its failed probe, before any request.
    async with Client(bootstrap_nodes=swarm.bootstrap, swarm_config=CLIENT_SWARM, ban_base_s=60) as client:
        await eventually(lambda: _sees(client, 2, SMOL))
        for _ in range(3):
            assert (await client.chat([{"role": "user", "content": "Hi"}], model=SMOL, max_tokens=2)).url
        assert doomed_id in client.bans.snapshot(_now())


async def test_fixed_node_list_without_dht(smol: NodeProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with Client(nodes=[dead, smol.url]) as client:
        listed = {n.url: n for n in await client.get_nodes()}
        assert listed[smol.url].models == (SMOL,) and listed[smol.url].ready
        assert not listed[dead].ready
        for _ in range(2):
            assert (await client.generate("Hi", max_tokens=2)).url == smol.url
    async with Client(nodes=[dead], probe=False) as client:
        with pytest.raises(NoNodeAvailableError, match="ConnectError"):
            await client.generate("Hi", max_tokens=2)


async def _sees(client: Client, count: int, model: str) -> bool:
    client.dht_discovery.invalidate()
    return len(await client.get_nodes(model)) >= count


def _now() -> float:
    return time.monotonic()


async def test_api_key_is_sent_and_a_wrong_key_is_reported(nodes: Nodes) -> None:
    locked = nodes.start(SMOL, "--n-ctx", "256", "--n-parallel", "1", "--api-key", "sesame", name="locked")
    async with Client(nodes=[locked.url], api_key="sesame") as client:
        assert (await client.generate("Hi", max_tokens=2)).tokens_generated > 0
    async with Client(nodes=[locked.url], api_key="wrong") as client:
        with pytest.raises(NoNodeAvailableError, match="401"):
            await client.generate("Hi", max_tokens=2)
    async with Client(nodes=[locked.url], probe=False) as client:
        with pytest.raises(RequestRejectedError, match="missing API key") as info:
            await client.generate("Hi", max_tokens=2)
        assert info.value.status == 401


async def test_a_node_dying_mid_stream_is_reported_not_replayed(nodes: Nodes) -> None:
    victim = nodes.start(SMOL, "--n-ctx", "1024", "--n-parallel", "1", name="victim")
    async with Client(nodes=[victim.url], ban_base_s=60) as client:
        chunks = client.generate_stream("Write a long story about a llama.", max_tokens=900)
        first = await anext(chunks)
        assert first.text and not first.finished
        assert victim.proc is not None
        victim.proc.kill()
        with pytest.raises(StreamInterruptedError, match=victim.url):
            async for _ in chunks:
                pass
        assert victim.url in client.bans.snapshot(_now())
