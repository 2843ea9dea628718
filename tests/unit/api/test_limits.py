"""Pure limit checks of the API edge: body sizes, echoed input, prompt bounds, the offload pool."""

import asyncio
import threading
from typing import Any

import pytest

from llamanet.api.body_limit import BodyLimitMiddleware, declared_too_large
from llamanet.api.errors import clip, from_exception
from llamanet.api.offload import Offload, is_large
from llamanet.engine.engine import cannot_fit
from llamanet.engine.errors import QueueFullError


def test_declared_length() -> None:
    assert not declared_too_large(None, 100)
    assert not declared_too_large(b"100", 100)
    assert declared_too_large(b"101", 100)
    assert declared_too_large(b"-1", 100) and declared_too_large(b"1e9", 100)
    assert declared_too_large(b"9" * 5000, 100)  # no int() of a 5000-digit header


def test_clip_bounds_echoed_input() -> None:
    assert clip("short") == "short"
    long = clip("m" * (1 << 20))
    assert len(long) < 100 and "1048576 characters" in long


def test_a_lone_surrogate_maps_to_a_400() -> None:
    try:
        "\ud800".encode()
    except UnicodeEncodeError as exc:
        error = from_exception(exc)
    assert error.status == 400 and error.code == "invalid_text"


def test_prompt_bound_before_tokenizing() -> None:
    assert not cannot_fit(1000, 16, 1024)
    assert cannot_fit(8_000_000, 64, 1024)
    assert not cannot_fit(1025 * 16, 16, 1024)  # exactly what a 1024-token context could hold
    assert cannot_fit(1025 * 16 + 1, 16, 1024)


def test_small_work_runs_inline_and_large_work_in_the_bounded_pool() -> None:
    assert not is_large(100) and is_large(1 << 20)
    offload = Offload(workers=1, max_waiting=1)
    release = threading.Event()

    async def scenario() -> None:
        loop_thread = threading.get_ident()
        assert await offload.run(False, threading.get_ident) == loop_thread
        first = asyncio.create_task(offload.run(True, lambda: release.wait(5)))
        second = asyncio.create_task(offload.run(True, lambda: release.wait(5)))
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFullError):
            await offload.run(True, lambda: None)
        release.set()
        assert await first and await second
        assert offload.pending == 0

    asyncio.run(scenario())
    offload.close()


def run_middleware(
    chunks: list[bytes], max_bytes: int, timeout_s: float = 5.0, gap_s: float = 0.0
) -> dict[str, Any]:
    """Drive ``BodyLimitMiddleware`` with a body sent in ``chunks`` (no Content-Length: chunked)."""
    seen: dict[str, Any] = {"received": 0, "app_body": None, "status": None}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen["app_body"] = message["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        i = seen["received"]
        seen["received"] += 1
        if gap_s:
            await asyncio.sleep(gap_s)
        if i >= len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[i], "more_body": i < len(chunks) - 1}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]

    scope = {"type": "http", "method": "POST", "path": "/generate", "headers": []}
    asyncio.run(BodyLimitMiddleware(app, max_bytes=max_bytes, timeout_s=timeout_s)(scope, receive, send))  # type: ignore[arg-type]
    return seen


def test_a_chunked_body_is_cut_at_the_cap_and_the_rest_dropped_before_the_413() -> None:
    seen = run_middleware([b"x" * 1000] * 12, max_bytes=8000)
    assert seen["status"] == 413 and seen["app_body"] is None
    assert seen["received"] == 12  # drained, so the client reads the 413 instead of a reset
    huge = run_middleware([b"x" * 1000] * 100, max_bytes=8000)
    assert huge["status"] == 413 and huge["received"] < 20  # draining is bounded too


def test_bodies_under_the_cap_reach_the_app_whole_and_trickles_time_out() -> None:
    seen = run_middleware([b'{"a":', b" 1}"], max_bytes=8000)
    assert seen["status"] == 200 and seen["app_body"] == b'{"a": 1}'
    slow = run_middleware([b"x"] * 50, max_bytes=8000, timeout_s=0.2, gap_s=0.05)
    assert slow["status"] == 408 and slow["app_body"] is None


def test_bodies_held_at_once_are_bounded_across_requests() -> None:
    release = asyncio.Event()
    statuses: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await release.wait()  # a request still in progress keeps its body counted
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def receiver() -> Any:
        sent = [False]

        async def receive() -> dict[str, Any]:
            if sent[0]:
                await asyncio.sleep(3600)
            sent[0] = True
            return {"type": "http.request", "body": b"x" * 1000, "more_body": False}

        return receive

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def scenario() -> None:
        guard = BodyLimitMiddleware(app, max_bytes=8000, max_held=1500)  # type: ignore[arg-type]
        scope = {"type": "http", "method": "POST", "path": "/generate", "headers": []}
        first = asyncio.create_task(guard(scope, receiver(), send))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        await guard(scope, receiver(), send)  # type: ignore[arg-type]
        assert statuses == [503] and guard.held == 1000
        release.set()
        await first
        assert statuses == [503, 200] and guard.held == 0
        await guard(scope, receiver(), send)  # type: ignore[arg-type]
        assert statuses == [503, 200, 200]

    asyncio.run(scenario())
