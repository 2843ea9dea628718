"""The router's decisions and failover against fake peers (``httpx.MockTransport``): no real network."""

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from llamanet.routing.capped import AnswerLimits
from llamanet.routing.decision import Forward, ServeHere
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.errors import NoNodeForModelError, UnknownModelError
from llamanet.routing.forwarder import NODE_HEADER, Outgoing, ending_with_failure
from llamanet.routing.router import RequestRouter
from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import FORWARD_HEADER, ForwardSigner, sign_address, verify_forward
from llamanet_common.record import NodeRecord
from tests.peerkeys import node_id, proof_answer, record

SELF = "0" * 40


def router(
    records: list[NodeRecord], handler: httpx.MockTransport, free: int | None = 0, **kw: Any
) -> RequestRouter:
    async def lookup(model: str | None) -> list[NodeRecord]:
        return [r for r in records if model is None or model in r.models]

    return RequestRouter(
        SwarmDirectory(lookup, SELF),
        httpx.AsyncClient(transport=handler),
        local_model="local",
        local_slots_free=lambda: free,
        rng=random.Random(0),
        **kw,
    )


def statuses(answers: dict[str, object]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return proof_answer(request) or httpx.Response(200, json=answers[request.url.host])

    return httpx.MockTransport(handle)


async def test_a_peer_with_a_bad_status_is_banned_not_a_crash() -> None:
    good = {"status": "ready", "slots_total": 4, "slots_free": 4}
    r = router([record("a"), record("b")], statuses({"a": {"status": "ready", "slots_total": 0}, "b": good}))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward) and [v.url for v in decision.candidates] == ["http://b"]
    assert list(r.bans.snapshot(0.0)) == [node_id("a")]


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
        if (proof := proof_answer(request)) is not None:
            return proof
        if request.url.path == "/status":  # a looks idle, b busy: a goes first
            busy = {"active_requests": 3, "slots_free": 1} if request.url.host == "b" else {}
            return httpx.Response(200, json={"status": "ready", "slots_total": 4, "slots_free": 4, **busy})
        if request.url.host == "a":
            return httpx.Response(404, json={"error": {"message": "gone", "code": "model_not_found"}})
        return httpx.Response(400, json={"error": {"message": "bad", "code": "bad_request"}})

    r = router([record("a"), record("b")], httpx.MockTransport(handle))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward) and [v.url for v in decision.candidates] == ["http://a", "http://b"]
    assert r.inflight == {node_id("a"): 1}  # reserved when decided, so requests decided together spread
    upstream = await r.forward(decision, Outgoing("/v1/completions", b"{}", {}, stream=False))
    assert upstream is not None and upstream.status == 400  # a's stale 404 went on to b; b's 400 came back
    assert upstream.headers[NODE_HEADER] == node_id("b") and node_id("a") in r.bans.snapshot(0.0)
    assert not r.inflight  # released once answered


GOOD = {"status": "ready", "slots_total": 4, "slots_free": 4}
ME = NodeIdentity.generate()


class Peers:
    """A MockTransport handler: /status and proofs as told, and the POSTs each host received."""

    def __init__(self, proofs: dict[str, Any] | None = None, post: Any = None) -> None:
        self.proofs = proofs or {}
        self.post = post or (lambda request: httpx.Response(200, json={"text": "ok"}))
        self.posts: list[tuple[str, httpx.Request]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if request.url.path == "/swarm/proof":
            if host in self.proofs:
                return self.proofs[host](request)
            return proof_answer(request) or httpx.Response(500)
        if request.url.path == "/status":
            return httpx.Response(200, json=GOOD)
        self.posts.append((host, request))
        return self.post(request)  # type: ignore[no-any-return]


async def test_user_traffic_goes_only_to_a_url_that_proved_the_records_key() -> None:
    thief = NodeIdentity.generate()  # the server at http://a holds another key than a's record

    def foreign(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=sign_address(thief, request.url.params["u"], request.url.params["c"]))

    peers = Peers(proofs={"a": foreign})
    r = router([record("a"), record("b")], httpx.MockTransport(peers))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward)
    upstream = await r.forward(decision, Outgoing("/v1/completions", b"{}", {}, stream=False))
    assert upstream is not None and upstream.headers[NODE_HEADER] == node_id("b")
    assert [host for host, _ in peers.posts] == ["b"] and node_id("a") in r.bans.snapshot(0.0)


async def test_a_proof_is_cached_per_record_seq_and_asked_again_for_a_new_record() -> None:
    asked: list[str] = []

    def counting(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        return proof_answer(request) or httpx.Response(500)

    r = router([record("a")], httpx.MockTransport(Peers(proofs={"a": counting})))
    view = (await r.directory.views("m"))[0]
    for _ in range(3):
        await r.proofs.prove(view)
    assert asked == ["a"]
    from dataclasses import replace

    await r.proofs.prove(replace(view, seq=2))
    assert asked == ["a", "a"]


async def test_forwarded_requests_and_probes_carry_this_nodes_proof_never_a_credential() -> None:
    seen: list[httpx.Request] = []

    def status(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":
            seen.append(request)
        return peers(request)

    peers = Peers()
    secret = b"s"
    r = router([record("a"), record("b")], httpx.MockTransport(status), signer=ForwardSigner(ME, secret))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward)
    await r.forward(decision, Outgoing("/v1/completions", b'{"p":1}', {}, stream=False, hops=1))
    host, post = peers.posts[0]
    assert "authorization" not in post.headers and post.headers["x-llamanet-hops"] == "1"
    proof = verify_forward(
        post.headers[FORWARD_HEADER], method="POST", path="/v1/completions", body=b'{"p":1}',
        self_id=node_id(host), now_s=__import__("time").time(), secret=secret,
    )  # fmt: skip
    assert proof.sender_id == ME.node_id and proof.hops == 1
    assert seen and all(FORWARD_HEADER in p.headers and "authorization" not in p.headers for p in seen)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"[" * 20000 + b"]" * 20000),  # nested past the parser's recursion limit
        httpx.Response(200, content=b'{"status":"ready","pad":"' + b"x" * 100_000 + b'"}'),  # over 64 KiB
        httpx.Response(200, content=b"<html>not json</html>"),
    ],
)
async def test_a_hostile_status_answer_bans_the_peer_and_never_crashes(answer: httpx.Response) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status" and request.url.host == "a":
            return answer
        return Peers()(request)

    r = router([record("a"), record("b")], httpx.MockTransport(handle))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward) and [v.url for v in decision.candidates] == ["http://b"]
    assert node_id("a") in r.bans.snapshot(0.0)


async def test_an_oversized_answer_fails_over_before_it_is_held_in_memory() -> None:
    def post(request: httpx.Request) -> httpx.Response:
        if request.url.host == "a":
            return httpx.Response(200, content=b"x" * 5000)
        return httpx.Response(200, json={"text": "ok"})

    r = router(
        [record("a"), record("b")], httpx.MockTransport(Peers(post=post)), limits=AnswerLimits(max_bytes=4096)
    )
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward)
    upstream = await r.forward(decision, Outgoing("/v1/completions", b"{}", {}, stream=False))
    assert upstream is not None and upstream.headers[NODE_HEADER] == node_id("b")


async def test_a_stream_that_goes_silent_or_too_big_ends_with_an_upstream_failed_event() -> None:
    async def silent() -> AsyncIterator[bytes]:
        yield b"data: {}\n\n"
        await asyncio.sleep(30)
        yield b"never"

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"data: " + b"x" * 1000 + b"\n\n"

    for body in (silent, endless):

        def post(request: httpx.Request, body: Any = body) -> httpx.Response:
            return httpx.Response(200, stream=_Stream(body()), headers={"content-type": "text/event-stream"})

        r = router([record("a")], httpx.MockTransport(Peers(post=post)), limits=AnswerLimits(8192, 0.3))
        decision = await r.decide("m", hops=0)
        assert isinstance(decision, Forward)
        upstream = await r.forward(decision, Outgoing("/v1/chat/completions", b"{}", {}, stream=True))
        assert upstream is not None and upstream.chunks is not None
        chunks = [c async for c in ending_with_failure(upstream.chunks, "text/event-stream")]
        assert sum(map(len, chunks)) < 8192 + 2000
        assert json.loads(chunks[-1].decode()[6:])["error"]["code"] == "upstream_failed"


class _Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for c in self.chunks:
            yield c


async def test_a_broken_ndjson_stream_ends_with_an_error_line_its_clients_can_read() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b'{"model":"m","message":{"role":"assistant","content":"Hel"},"done":false}\n'
        raise httpx.ReadError("peer died")

    def post(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Stream(broken()), headers={"content-type": "application/x-ndjson"})

    r = router([record("a")], httpx.MockTransport(Peers(post=post)))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward)
    upstream = await r.forward(decision, Outgoing("/api/chat", b"{}", {}, stream=True))
    assert upstream is not None and upstream.chunks is not None
    ndjson = ending_with_failure(upstream.chunks, upstream.headers["content-type"])
    lines = b"".join([c async for c in ndjson]).decode().splitlines()
    assert json.loads(lines[0])["done"] is False
    assert "failed mid-stream" in json.loads(lines[-1])["error"]  # Ollama's error line, not SSE


async def test_a_model_whose_nodes_vanished_is_a_503_not_a_404_while_remembered() -> None:
    r = router([record("a")], statuses({"a": {"status": "ready", "slots_total": 4, "slots_free": 4}}))
    assert isinstance(await r.decide("m", hops=0), Forward)

    async def nothing(model: str | None) -> list[NodeRecord]:
        return []

    r.directory = SwarmDirectory(nothing, SELF)  # its records expired (a partition), the swarm served it
    with pytest.raises(NoNodeForModelError, match="'m' is reachable now"):
        await r.decide("m", hops=0)
    r.recent.remember_s = 0.0  # forgotten: an unknown model again
    with pytest.raises(UnknownModelError):
        await r.decide("m", hops=0)
    with pytest.raises(UnknownModelError):  # a name never served is never remembered
        await r.decide("never-served", hops=0)
