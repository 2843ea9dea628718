"""Real UDP swarms on 127.0.0.1: several SwarmNodes (and clients, and a rogue peer) in one event loop."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
from kademlia.node import Node
from kademlia.utils import digest

from llamanet.swarm.client import SwarmClient
from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.errors import SwarmUnreachableError
from llamanet.swarm.keys import ALL_NODES_KEY
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.server import SwarmServer, wall_clock
from llamanet.swarm.storage import EntryStore, StoredEntry
from llamanet.swarm.validation import RecordLimits
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import NodeRecord, RecordFields, sign_record

pytestmark = pytest.mark.timeout(60)

HOST = "127.0.0.1"


def config(**overrides: object) -> SwarmConfig:
    base: dict[str, object] = {
        "heartbeat_interval_s": 0.5,
        "ttl_intervals": 3.0,
        "limits": RecordLimits(max_ttl_s=5.0, clock_skew_s=1.0),
        "rpc_timeout_s": 0.5,
        "backoff_initial_s": 0.2,
        "backoff_cap_s": 1.0,
    }
    base.update(overrides)
    return SwarmConfig(**base)  # type: ignore[arg-type]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def start_node(
    bootstrap: Sequence[str] = (), models: Sequence[str] = ("tiny",), port: int = 0, **overrides: object
) -> SwarmNode:
    fields = RecordFields(urls=["http://127.0.0.1:8000"], models=list(models), slots_total=2, slots_free=2)
    node = SwarmNode(NodeIdentity.generate(), config(**overrides), record_factory=lambda: fields)
    await node.start(HOST, port, list(bootstrap))
    return node


def addr(node: SwarmNode) -> str:
    return f"{HOST}:{node.dht_port}"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def ids(records: list[NodeRecord]) -> set[str]:
    return {r.node_id for r in records}


@pytest.fixture
async def swarm() -> AsyncIterator[list[SwarmNode]]:
    seed = await start_node(models=("tiny",))
    nodes = [seed]
    for models in (("tiny",), ("small",), ("small", "tiny"), ("big",)):
        nodes.append(await start_node([addr(seed)], models))
    yield nodes
    await asyncio.gather(*(n.stop(withdraw=False) for n in nodes))


async def test_every_record_is_visible_from_every_node_and_a_client(swarm: list[SwarmNode]) -> None:
    everyone = {n.node_id for n in swarm}

    async def all_see_all() -> bool:
        views = await asyncio.gather(*(n.get_nodes() for n in swarm))
        return all(ids(view) == everyone for view in views)

    await eventually(all_see_all)
    client = SwarmClient(config())
    assert await client.start([addr(swarm[3])], bind_host=HOST)
    try:
        assert ids(await client.get_nodes()) == everyone
        # Nodes publishing under the same model key are all there: nobody overwrote anybody.
        assert ids(await client.get_nodes("tiny")) == {swarm[0].node_id, swarm[1].node_id, swarm[3].node_id}
        assert ids(await client.get_nodes("small")) == {swarm[2].node_id, swarm[3].node_id}
        assert await client.get_nodes("nonexistent") == []
        record = next(r for r in await client.get_nodes("big") if r.node_id == swarm[4].node_id)
        assert record.urls == ["http://127.0.0.1:8000"]
        assert (record.dht_host, record.dht_port) == (HOST, swarm[4].dht_port)
    finally:
        await client.close()


async def test_client_never_enters_routing_tables(swarm: list[SwarmNode]) -> None:
    client = SwarmClient(config())
    assert await client.start([addr(swarm[0])], bind_host=HOST)
    try:
        await eventually(lambda: _has(client, swarm[4].node_id))
        client_id = client.server.node.id.hex()
        client_port = client.server.bound_port()
        for node in swarm:
            peers = node.status()["peers"]
            assert peers, "nodes do know each other"
            assert all(p["id"] != client_id and p["port"] != client_port for p in peers)
    finally:
        await client.close()


async def _has(client: SwarmClient, node_id: str) -> bool:
    return node_id in ids(await client.get_nodes())


async def test_clean_stop_withdraws_at_once(swarm: list[SwarmNode]) -> None:
    leaver = swarm.pop()
    await eventually(lambda: _sees(swarm[0], leaver.node_id, "big"))
    await leaver.stop()
    assert leaver.node_id not in ids(await swarm[0].get_nodes())
    assert await swarm[1].get_nodes("big") == []


async def _sees(node: SwarmNode, node_id: str, model: str | None = None) -> bool:
    return node_id in ids(await node.get_nodes(model))


async def test_killed_node_expires_after_about_three_intervals(swarm: list[SwarmNode]) -> None:
    victim = swarm.pop()
    await eventually(lambda: _sees(swarm[0], victim.node_id))
    last = victim.last_record
    assert last is not None
    await victim.stop(withdraw=False)
    assert await _sees(swarm[1], victim.node_id), "a crash is not a withdrawal: still listed until expiry"

    async def gone() -> bool:
        return not await _sees(swarm[1], victim.node_id)

    # TTL is 3 x 0.5 s. The bound is a liveness bound for a loaded machine (lookups wait on the dead
    # peer's RPC timeout), far from a broken expiry, which keeps the record forever.
    await eventually(gone, timeout=30.0)
    # it vanished by expiry, not earlier: its last record's own expiry time had passed
    assert time.time() >= last.expires_at - config().limits.clock_skew_s
    status = swarm[0].status()
    assert all(e["node_id"] != victim.node_id for entries in status["storage"].values() for e in entries)


class GullibleStore(EntryStore):
    """A rogue peer's storage: keeps whatever it is given, without any check."""

    def put(self, key: str, raw: str) -> NodeRecord:
        record = NodeRecord.model_validate_json(raw)
        self._names[digest(key)] = key
        self._entries.setdefault(digest(key), {})[record.node_id] = StoredEntry(record, raw, time.time() + 60)
        return record


async def test_forged_records_are_rejected_by_storing_peers_and_readers(swarm: list[SwarmNode]) -> None:
    victim = swarm[1]
    await eventually(lambda: _sees(swarm[0], victim.node_id))
    real = next(r for r in await swarm[0].get_nodes() if r.node_id == victim.node_id)
    tampered = real.model_copy(update={"seq": real.seq + 10_000, "slots_free": 999}).to_json()
    attacker = NodeIdentity.generate()
    impostor = sign_record(
        real.model_copy(update={"public_key": attacker.public_key_hex}), attacker
    ).to_json()
    too_long = sign_record(
        real.model_copy(
            update={
                "node_id": attacker.node_id,
                "public_key": attacker.public_key_hex,
                "expires_at": time.time() + 3600,
            }
        ),
        attacker,
    ).to_json()

    rogue = SwarmServer(config(), attacker.node_id_bytes, client_mode=False, clock=wall_clock)
    rogue.storage = rogue.entries = GullibleStore()
    await rogue.listen(0, HOST)
    try:
        assert await rogue.join([(HOST, swarm[0].dht_port)])
        protocol = rogue.swarm_protocol
        for node in swarm:
            target = Node(node.identity.node_id_bytes, HOST, node.dht_port)
            for raw in (tampered, impostor, too_long, "not json"):
                assert await protocol.call_store_entry(target, ALL_NODES_KEY, raw) is False
            ok, stored = await protocol.call_store(target, digest(ALL_NODES_KEY), b"opaque pickle-ish bytes")
            assert ok and stored is False
            assert node.status()["rejected_stores"] >= 4
        # Now the rogue serves the forgery itself: readers must re-validate and ignore it.
        rogue.entries.put(ALL_NODES_KEY, tampered)
        for reader in swarm:
            record = next(r for r in await reader.get_nodes() if r.node_id == victim.node_id)
            assert record.slots_free == 2
            assert record.seq < real.seq + 10_000
        assert attacker.node_id not in ids(await swarm[2].get_nodes())
    finally:
        rogue.stop()


async def test_swarm_secret_keeps_outsiders_out() -> None:
    secret = b"correct horse battery staple"
    seed = await start_node(secret=secret)
    member = await start_node([addr(seed)], secret=secret)
    outsiders = [await start_node([addr(seed)]), await start_node([addr(seed)], secret=b"wrong")]
    try:
        await eventually(lambda: _sees(member, seed.node_id))
        for outsider in outsiders:
            assert not outsider.joined
            assert outsider.status()["peers"] == []
            target = Node(seed.identity.node_id_bytes, HOST, seed.dht_port)
            raw = json.dumps({"junk": True})
            assert await outsider.server.swarm_protocol.call_store_entry(target, ALL_NODES_KEY, raw) is False
        members = {seed.node_id, member.node_id}
        assert ids(await member.get_nodes()) == members
        for node in (seed, member):
            assert {p["id"] for p in node.status()["peers"]} <= members
        assert seed.status()["dropped_datagrams"] >= 4, "the outsiders' pings and stores were dropped"
    finally:
        await asyncio.gather(*(n.stop(withdraw=False) for n in (seed, member, *outsiders)))


async def test_bootstrap_by_dns_name() -> None:
    seed = await start_node()
    joiner = await start_node([f"localhost:{seed.dht_port}"])
    try:
        assert joiner.joined
        await eventually(lambda: _sees(seed, joiner.node_id))
    finally:
        await asyncio.gather(seed.stop(withdraw=False), joiner.stop(withdraw=False))


async def test_bootstrap_retries_until_the_peer_comes_up() -> None:
    port = free_udp_port()
    joiner = await start_node([f"{HOST}:{port}"])
    seed: SwarmNode | None = None
    try:
        assert not joiner.joined
        await asyncio.sleep(0.7)  # a few backoff rounds against a dead address
        assert not joiner.joined
        seed = await start_node(port=port)

        async def joined() -> bool:
            return joiner.joined

        await eventually(joined)
        await eventually(lambda: _sees(seed, joiner.node_id))  # type: ignore[arg-type]
    finally:
        await joiner.stop(withdraw=False)
        if seed is not None:
            await seed.stop(withdraw=False)


async def test_client_with_no_reachable_peer_says_so() -> None:
    client = SwarmClient(config())
    assert not await client.start([f"{HOST}:{free_udp_port()}"], bind_host=HOST)
    try:
        with pytest.raises(SwarmUnreachableError):
            await client.get_nodes()
    finally:
        await client.close()
