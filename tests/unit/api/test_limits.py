"""Pure limit checks of the API edge: body sizes, echoed input, prompt bounds, the offload pool."""

import asyncio
import threading

import pytest

from llamanet.api.body_limit import declared_too_large
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
