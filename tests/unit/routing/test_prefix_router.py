"""The router's prefix decisions against fake peers (``httpx.MockTransport``): serve here or forward to
the prefix's node, even with a free slot here, within the bounded load; off, short or forwarded: by load."""

import random
import time

import httpx

from llamanet.routing.decision import Forward, ServeHere
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.prefix import PREFIX_OFF, PrefixPolicy, boundary_keys, prefix_key, ranked
from llamanet.routing.prefix_holdings import PrefixHoldings
from llamanet.routing.router import RequestRouter
from llamanet_common.record import NodeRecord
from llamanet_common.status import NodeStatus

SELF = "0" * 40
PEERS = ("a", "b")


def record(c: str) -> NodeRecord:
    return NodeRecord(
        node_id=c * 40, dht_host="h", dht_port=1, seq=1, expires_at=1e12, public_key="0" * 64,
        urls=[f"http://{c}"], models=["local"], slots_total=4, slots_free=4,
    )  # fmt: skip


def router(
    prefix: PrefixPolicy,
    busy: dict[str, int] | None = None,
    local_busy: int = 0,
    held: dict[str, list[str]] | None = None,
) -> tuple[RequestRouter, list[str]]:
    """``held``: the chats each peer's ``/status`` says it holds."""
    probed: list[str] = []
    loads = busy or {}
    holds = held or {}

    async def lookup(model: str | None) -> list[NodeRecord]:
        return [record(c) for c in PEERS]

    def handle(request: httpx.Request) -> httpx.Response:
        probed.append(request.url.host)
        n = loads.get(request.url.host, 0)
        return httpx.Response(
            200,
            json={
                "status": "ready", "slots_total": 4, "slots_free": 4 - n, "active_requests": n,
                "prefixes": holds.get(request.url.host, []),
            },
        )  # fmt: skip

    def local() -> NodeStatus:
        return NodeStatus(node_id=SELF, model="local", status="ready", active_requests=local_busy,
                          slots_total=4, slots_free=4 - local_busy)  # fmt: skip

    r = RequestRouter(
        SwarmDirectory(lookup, SELF),
        httpx.AsyncClient(transport=httpx.MockTransport(handle)),
        local_model="local",
        local_slots_free=lambda: 4 - local_busy,
        rng=random.Random(0),
        prefix=prefix,
        local_status=local,
    )
    return r, probed


def key_owned_by(*order: str) -> str:
    """A prefix key whose rendezvous order among this node and the peers starts with ``order``."""
    for i in range(10_000):
        key = prefix_key(f"tenant {i} " * 100, 512)
        assert key is not None
        if tuple(ranked(key, [SELF, *(c * 40 for c in PEERS)])[: len(order)]) == order:
            return key
    raise AssertionError("no key found")


async def test_a_prefix_of_another_node_goes_there_even_with_a_free_slot_here() -> None:
    r, probed = router(PrefixPolicy())
    decision = await r.decide("local", hops=0, prefix_key=key_owned_by("b" * 40))
    assert isinstance(decision, Forward) and decision.candidates[0].node_id == "b" * 40
    assert probed == ["b"] and r.inflight == {"b" * 40: 1}
    assert decision.local_fallback  # this node serves the model: it takes it if every peer fails


async def test_this_nodes_prefix_is_served_here_without_a_probe() -> None:
    r, probed = router(PrefixPolicy())
    assert await r.decide("local", hops=0, prefix_key=key_owned_by(SELF)) == ServeHere("local")
    assert probed == []


async def test_an_owner_above_the_bound_is_skipped() -> None:
    key = key_owned_by("b" * 40, "a" * 40)
    r, _ = router(PrefixPolicy(), busy={"b": 3})  # 4 with this one, against an average of 5/3
    decision = await r.decide("local", hops=0, prefix_key=key)
    assert isinstance(decision, Forward) and [v.node_id for v in decision.candidates] == ["a" * 40, "b" * 40]
    assert await r.decide("local", hops=0, prefix_key=key_owned_by("b" * 40, SELF)) == ServeHere("local")
    r, _ = router(PrefixPolicy(load_bound=5.0), busy={"b": 3})  # a looser bound keeps the owner
    decision = await r.decide("local", hops=0, prefix_key=key)
    assert isinstance(decision, Forward) and decision.candidates[0].node_id == "b" * 40


async def test_this_node_above_the_bound_forwards_to_the_next() -> None:
    r, probed = router(PrefixPolicy(), local_busy=3)
    decision = await r.decide("local", hops=0, prefix_key=key_owned_by(SELF, "b" * 40))
    assert isinstance(decision, Forward) and decision.candidates[0].node_id == "b" * 40
    assert probed == ["b"]


async def test_off_forwarded_or_without_a_key_a_free_slot_here_serves_it() -> None:
    key = key_owned_by("b" * 40)
    for prefix, hops, k in ((PREFIX_OFF, 0, key), (PrefixPolicy(), 1, key), (PrefixPolicy(), 0, None)):
        r, probed = router(prefix)
        assert await r.decide("local", hops=hops, prefix_key=k) == ServeHere("local")
        assert probed == []


async def test_a_failing_owner_is_banned_and_the_next_takes_it() -> None:
    key = key_owned_by("b" * 40, "a" * 40)
    r, _ = router(PrefixPolicy())
    r.client = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda req: (
                httpx.Response(500)
                if req.url.host == "b"
                else httpx.Response(200, json={"status": "ready", "slots_total": 4, "slots_free": 4})
            )
        )
    )
    decision = await r.decide("local", hops=0, prefix_key=key)
    assert isinstance(decision, Forward) and [v.node_id for v in decision.candidates] == ["a" * 40]
    assert r.bans.is_banned("b" * 40, time.monotonic())


def conversation(turns: int) -> list[tuple[str, str]]:
    """A chat of ``turns`` turns: a system prompt, then a question (and an answer before each next)."""
    chat = [("system", "You are the support assistant. " * 40)]
    for i in range(turns):
        chat += [("assistant", f"answer {i - 1}")] if i else []
        chat.append(("user", f"question {i}"))
    return chat


async def test_a_chats_next_turn_goes_to_the_node_that_served_its_earlier_turn() -> None:
    # the owner is this node, with a free slot; peer a served the chat's first turn (an overflow)
    key = key_owned_by(SELF, "b" * 40, "a" * 40)
    first, second = boundary_keys(conversation(1)), boundary_keys(conversation(2))
    assert second[: len(first)] == first  # the earlier turn is a prefix, boundary by boundary
    r, probed = router(PrefixPolicy(), held={"a": [first[-1]]})
    decision = await r.decide("local", hops=0, prefix_key=key, boundaries=second)
    assert isinstance(decision, Forward) and decision.candidates[0].node_id == "a" * 40
    assert sorted(probed) == ["a", "b"]  # the first two others in rendezvous order
    # without the holdings (as before them): the owner, this node, serves it
    r, probed = router(PrefixPolicy())
    assert await r.decide("local", hops=0, prefix_key=key, boundaries=second) == ServeHere("local")


async def test_a_chat_this_node_served_the_turn_before_stays_here_without_a_probe() -> None:
    key = key_owned_by(SELF, "b" * 40, "a" * 40)
    r, probed = router(PrefixPolicy(), held={"a": [boundary_keys(conversation(2))[-1]]})
    r.served(boundary_keys(conversation(2)))
    assert boundary_keys(conversation(2))[-1] in r.holdings
    assert await r.decide("local", hops=0, prefix_key=key, boundaries=boundary_keys(conversation(3))) == (
        ServeHere("local")
    )
    assert probed == []  # nobody can hold more of it than the turn before


async def test_a_node_claiming_every_chat_gets_no_more_than_the_bounded_load() -> None:
    # peer a claims it holds the chat, but is full while others have free slots: the claim is skipped
    key = key_owned_by(SELF, "b" * 40, "a" * 40)
    second = boundary_keys(conversation(2))
    r, _ = router(PrefixPolicy(), busy={"a": 4}, held={"a": list(second)})
    assert await r.decide("local", hops=0, prefix_key=key, boundaries=second) == ServeHere("local")


async def test_with_holdings_off_here_one_probe_and_the_hash_alone_decide() -> None:
    key = key_owned_by(SELF, "b" * 40, "a" * 40)
    first, second = boundary_keys(conversation(1)), boundary_keys(conversation(2))
    r, probed = router(PrefixPolicy(), held={"a": [first[-1]]})
    r.holdings = PrefixHoldings(0)  # --prefix-holdings off
    assert await r.decide("local", hops=0, prefix_key=key, boundaries=second) == ServeHere("local")
    assert probed == []  # this node owns the prefix and fits: as before holdings
