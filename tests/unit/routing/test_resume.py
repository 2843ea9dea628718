"""Resumed streams: the tape (pure) and ``resuming`` against fake peers (``httpx.MockTransport``)."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from llamanet.routing.decision import Forward
from llamanet.routing.forwarder import Outgoing
from llamanet.routing.resume import Resumable, resuming
from llamanet.routing.sites import EVERY_SITE
from llamanet.routing.tape import CONTINUATION_FIELD, Tape, continuation
from tests.peerkeys import record
from tests.unit.routing.test_router import Peers, _Stream, router


def chat_event(cid: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    data = {"id": cid, "object": "chat.completion.chunk", "created": 7, "model": "m", "choices": [choice]}
    return f"data: {json.dumps(data)}\n\n".encode()


def test_the_tape_passes_whole_events_only_and_keeps_the_text_sent() -> None:
    tape = Tape("chat")
    first = chat_event("a", {"role": "assistant", "content": ""}) + chat_event("a", {"content": "Hel"})
    out = tape.feed(first + chat_event("a", {"content": "lo"})[:20])  # the last event is cut
    assert out == [chat_event("a", {"role": "assistant", "content": ""}), chat_event("a", {"content": "Hel"})]
    assert tape.text == "Hel" and not tape.done
    tape.resume()
    spliced = tape.feed(
        chat_event("b", {"role": "assistant", "content": ""}) + chat_event("b", {"content": "lo"})
    )
    assert [json.loads(e[6:]) for e in spliced] == [json.loads(chat_event("a", {"content": "lo"})[6:])]
    tape.feed(chat_event("b", {}, "stop") + b"data: [DONE]\n\n")
    assert tape.text == "Hello" and tape.finished and tape.done


def test_a_completion_tape_skips_the_echo_and_a_native_one_ends_at_finished() -> None:
    tape = Tape("completion")
    for text in ("1, 2,", " 3"):
        event = {"id": "c", "created": 1, "choices": [{"index": 0, "text": text, "finish_reason": None}]}
        tape.feed(f"data: {json.dumps(event)}\n\n".encode())
    echoed = continuation("completion", {"prompt": "1, 2,", "echo": True}, tape.parts)
    assert isinstance(echoed, dict) and echoed[CONTINUATION_FIELD] == {"text": " 3"}
    native = Tape("native")
    native.feed(b'data: {"text": "a", "finished": false}\n\ndata: {"text": "", "finished": true}\n\n')
    assert native.text == "a" and native.done


def test_a_continuation_carries_all_text_sent_and_constrained_streams_have_none() -> None:
    body = {"messages": [], "stream": True}
    once = continuation("chat", body, ["Hel"])
    assert isinstance(once, dict) and once[CONTINUATION_FIELD] == {"text": "Hel"}
    twice = continuation("chat", once, ["lo"])
    assert isinstance(twice, dict) and twice[CONTINUATION_FIELD] == {"text": "Hello"}
    assert "tools" in str(continuation("chat", {**body, "tools": [{}]}, ["x"]))
    fmt = {"type": "json_object"}
    assert "response_format" in str(continuation("completion", {"prompt": "p", "response_format": fmt}, []))
    assert "several prompts" in str(continuation("completion", {"prompt": ["a", "b"]}, []))


def breaking_then_continuing(seen: list[dict[str, Any]]) -> Any:
    """A peer's POST handler: a fresh request breaks after "Hel"; a continuation streams the rest."""

    async def broken() -> AsyncIterator[bytes]:
        yield chat_event("first", {"role": "assistant", "content": ""})
        yield chat_event("first", {"content": "Hel"})
        raise httpx.ReadError("peer died")

    async def rest() -> AsyncIterator[bytes]:
        yield chat_event("second", {"role": "assistant", "content": ""})
        yield chat_event("second", {"content": "lo"}) + chat_event("second", {}, "stop")
        yield b"data: [DONE]\n\n"

    def post(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        chunks = rest() if CONTINUATION_FIELD in body else broken()
        return httpx.Response(200, stream=_Stream(chunks), headers={"content-type": "text/event-stream"})

    return post


async def resumed(records: list[Any], peers: Peers, local: Any, model: str = "m") -> list[bytes]:
    r = router(records, httpx.MockTransport(peers), free=0)  # this node serves "local", all slots busy
    decision = await r.decide(model, hops=0)
    assert isinstance(decision, Forward)
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    out = Outgoing("/v1/chat/completions", json.dumps(body).encode(), {}, stream=True)
    upstream = await r.forward(decision, out)
    assert upstream is not None
    job = Resumable("chat", out, model, 0, EVERY_SITE, local)
    return [e async for e in resuming(r, upstream, job)]


async def no_local(body: dict[str, Any]) -> AsyncIterator[bytes]:
    raise RuntimeError("this node does not serve the model")


async def test_a_stream_that_breaks_mid_way_is_continued_on_another_node_as_one_stream() -> None:
    seen: list[dict[str, Any]] = []
    peers = Peers(post=breaking_then_continuing(seen))
    events = await resumed([record("a"), record("b")], peers, no_local)
    assert peers.posts[0][0] != peers.posts[1][0]  # the broken node was banned
    assert seen[1][CONTINUATION_FIELD] == {"text": "Hel"}
    chunks = [json.loads(e[6:]) for e in events if e != b"data: [DONE]\n\n"]
    assert events[-1] == b"data: [DONE]\n\n"
    assert {c["id"] for c in chunks} == {"first"}  # one stream to the client
    assert sum("role" in c["choices"][0]["delta"] for c in chunks) == 1
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Hello"


async def test_the_continuation_runs_here_when_no_other_node_is_left_and_else_ends_with_an_error() -> None:
    seen: list[dict[str, Any]] = []
    asked: list[dict[str, Any]] = []

    async def local(body: dict[str, Any]) -> AsyncIterator[bytes]:
        asked.append(body)

        async def rest() -> AsyncIterator[bytes]:
            yield chat_event("here", {"role": "assistant", "content": ""}) + chat_event(
                "here", {"content": "lo"}
            )
            yield chat_event("here", {}, "stop") + b"data: [DONE]\n\n"

        return rest()

    events = await resumed([record("a", "local")], Peers(post=breaking_then_continuing(seen)), local, "local")
    assert asked[0][CONTINUATION_FIELD] == {"text": "Hel"} and len(seen) == 1
    text = "".join(json.loads(e[6:])["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert text == "Hello" and events[-1] == b"data: [DONE]\n\n"

    events = await resumed([record("a")], Peers(post=breaking_then_continuing([])), no_local)
    error = json.loads(events[-1][6:])["error"]
    assert error["code"] == "upstream_failed" and "failed mid-stream" in error["message"]
    assert "no node could continue the stream: every node serving" in error["message"]
