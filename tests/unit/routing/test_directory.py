import asyncio

from llamanet.routing.directory import SwarmDirectory
from llamanet.swarm.errors import SwarmError
from llamanet_common.record import NodeRecord


def record(
    node_id: str, urls: list[str] | None = None, seq: int = 1, models: tuple[str, ...] = ("m",)
) -> NodeRecord:
    return NodeRecord(
        node_id=node_id * 40,
        dht_host="h",
        dht_port=1,
        seq=seq,
        expires_at=1e12,
        public_key="0" * 64,
        urls=urls if urls is not None else ["http://x:1"],
        models=list(models),
    )


async def test_fresh_stale_and_failed_lookups() -> None:
    now = [0.0]
    calls: list[str | None] = []
    answers: list[list[NodeRecord] | Exception] = [[record("a")], [record("b")], SwarmError("down")]

    async def lookup(model: str | None) -> list[NodeRecord]:
        calls.append(model)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    d = SwarmDirectory(lookup, self_id="a" * 40, fresh_s=1, stale_s=10, clock=lambda: now[0])
    assert [r.node_id[0] for r in await d.records("m")] == ["a"]  # first lookup waits
    now[0] = 0.5
    assert [r.node_id[0] for r in await d.records("m")] == ["a"] and len(calls) == 1  # fresh
    now[0] = 5
    assert [r.node_id[0] for r in await d.records("m")] == ["a"]  # stale: served, refreshed behind
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [r.node_id[0] for r in await d.records("m")] == ["b"] and len(calls) == 2
    now[0] = 50
    assert [r.node_id[0] for r in await d.records("m")] == ["b"]  # too old: waits; failure keeps the last


async def test_a_models_answer_is_merged_with_the_newer_all_nodes_answer() -> None:
    now = [0.0]
    answers = {
        "m": [record("a"), record("b")],  # an older answer: b has left since, c has joined
        None: [record("a", seq=3, urls=["http://new:1"]), record("c"), record("d", models=("other",))],
    }

    async def lookup(model: str | None) -> list[NodeRecord]:
        return answers[model]

    d = SwarmDirectory(lookup, self_id="z" * 40, fresh_s=1, stale_s=10, clock=lambda: now[0])
    assert [r.node_id[0] for r in await d.records("m")] == ["a", "b"]  # nothing else known yet
    await d.records()  # e.g. /v1/models
    merged = await d.records("m")
    assert [(r.node_id[0], r.seq) for r in merged] == [("a", 3), ("b", 1), ("c", 1)]  # d serves "other"
    assert merged[0].urls == ["http://new:1"]  # the highest seq of a node wins
    assert [r.node_id[0] for r in await d.records()] == ["a", "c", "d"]  # all nodes: unchanged


async def test_views_exclude_self_and_urlless() -> None:
    async def lookup(model: str | None) -> list[NodeRecord]:
        return [record("a"), record("b"), record("c", urls=[])]

    d = SwarmDirectory(lookup, self_id="a" * 40)
    assert [v.node_id[0] for v in await d.views()] == ["b"]
    assert [v.url for v in await d.views(include_self=True)] == ["http://x:1", "http://x:1"]
    assert [v.key for v in await d.views()] == ["b" * 40]  # bans are keyed by the record's node id


async def test_unknown_model_names_cost_no_memory() -> None:
    calls: list[str | None] = []

    async def lookup(model: str | None) -> list[NodeRecord]:
        calls.append(model)
        return []

    d = SwarmDirectory(lookup, self_id="a" * 40, max_models=8)
    for i in range(100):
        assert await d.records(f"no-such-model-{i}") == []
    assert len(d._cache) == 8  # the least recently used names were dropped
    assert await d.records("x" * 10_000) == []  # longer than any record's model name: not even looked up
    assert "x" * 10_000 not in calls and len(calls) == 100
