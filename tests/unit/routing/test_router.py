"""The router's decisions and failover against fake peers (``httpx.MockTransport``): no real network."""

import random

import httpx
import pytest

from llamanet.routing.decision import Forward, ServeHere
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.errors import NoNodeForModelError, UnknownModelError
from llamanet.routing.forwarder import NODE_HEADER, Outgoing
from llamanet.routing.router import RequestRouter
from llamanet_common.record import NodeRecord

SELF = "0" * 40


def record(c: str, model: str = "m") -> NodeRecord:
    return NodeRecord(
        node_id=c * 40, dht_host="h", dht_port=1, seq=1, expires_at=1e12, public_key="0" * 64,
        urls=[f"http://{c}"], models=[model], slots_total=4, slots_free=4,
    )  # fmt: skip


def router(records: list[NodeRecord], handler: httpx.MockTransport, free: int | None = 0) -> RequestRouter:
    async def lookup(model: str | None) -> list[NodeRecord]:
        return [r for r in records if model is None or model in r.models]

    return RequestRouter(
        SwarmDirectory(lookup, SELF),
        httpx.AsyncClient(transport=handler),
        local_model="local",
        local_slots_free=lambda: free,
        rng=random.Random(0),
    )


def statuses(answers: dict[str, object]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[request.url.host])

    return httpx.MockTransport(handle)


async def test_a_peer_with_a_bad_status_is_banned_not_a_crash() -> None:
    good = {"status": "ready", "slots_total": 4, "slots_free": 4}
    r = router([record("a"), record("b")], statuses({"a": {"status": "ready", "slots_total": 0}, "b": good}))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward) and [v.url for v in decision.candidates] == ["http://b"]
    assert list(r.bans.snapshot(0.0)) == ["a" * 40]


async def test_every_peer_answering_garbage_is_a_503_error_not_a_500() -> None:
    r = router([record("a"), record("b")], statuses({"a": {"slots_total": "x"}, "b": [1]}))
    with pytest.raises(NoNodeForModelError, match="bad /status"):
        await r.decide("m", hops=0)


async def test_the_local_model_with_a_free_slot_is_served_here_and_unknown_models_are_named() -> None:
    r = router([record("a")], statuses({}), free=1)
    assert await r.decide(None, hops=0) == ServeHere("local")
    with pytest.raises(UnknownModelError, match="available: local, m"):
        await r.decide("nope", hops=0)


async def test_a_stale_records_404_fails_over_and_a_400_does_not() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":  # a looks idle, b busy: a goes first
            busy = {"active_requests": 3, "slots_free": 1} if request.url.host == "b" else {}
            return httpx.Response(200, json={"status": "ready", "slots_total": 4, "slots_free": 4, **busy})
        if request.url.host == "a":
            return httpx.Response(404, json={"error": {"message": "gone", "code": "model_not_found"}})
        return httpx.Response(400, json={"error": {"message": "bad", "code": "bad_request"}})

    r = router([record("a"), record("b")], httpx.MockTransport(handle))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward) and [v.url for v in decision.candidates] == ["http://a", "http://b"]
    assert r.inflight == {"a" * 40: 1}  # reserved when decided, so requests decided together spread
    upstream = await r.forward(decision, Outgoing("/v1/completions", b"{}", {}, stream=False))
    assert upstream is not None and upstream.status == 400  # a's stale 404 went on to b; b's 400 came back
    assert upstream.headers[NODE_HEADER] == "b" * 40 and "a" * 40 in r.bans.snapshot(0.0)
    assert not r.inflight  # released once answered
