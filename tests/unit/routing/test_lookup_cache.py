import asyncio

import pytest

from llamanet.routing.lookup_cache import LookupCache


def counting() -> tuple[list[str | None], object]:
    calls: list[str | None] = []

    async def lookup(key: str | None) -> str:
        calls.append(key)
        return f"{key}#{len(calls)}"

    return calls, lookup


async def test_fresh_answers_are_reused_and_a_ttl_cache_waits_once_expired() -> None:
    now = [0.0]
    calls, lookup = counting()
    cache: LookupCache[str] = LookupCache(lookup, fresh_s=5, clock=lambda: now[0])  # type: ignore[arg-type]
    assert await cache.get("m") == "m#1"
    now[0] = 4.9
    assert await cache.get("m") == "m#1"
    now[0] = 5.0
    assert await cache.get("m") == "m#2"  # no stale answers without stale_s
    assert await cache.get("m", fresh=True) == "m#3"
    cache.invalidate()
    assert await cache.get("m") == "m#4" and len(calls) == 4


async def test_concurrent_callers_share_one_lookup() -> None:
    release = asyncio.Event()
    calls: list[str | None] = []

    async def slow(key: str | None) -> int:
        calls.append(key)
        await release.wait()
        return 1

    cache: LookupCache[int] = LookupCache(slow, fresh_s=1)
    waiting = [asyncio.ensure_future(cache.get("m")) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [1] * 10 and calls == ["m"]


async def test_the_number_of_keys_and_their_length_are_bounded() -> None:
    calls, lookup = counting()
    cache: LookupCache[str] = LookupCache(lookup, fresh_s=60, max_keys=3, max_key_chars=10)  # type: ignore[arg-type]
    for key in ["a", "b", "c", "a", "d"]:  # "a" used again: "b" is the least recently used
        await cache.get(key)
    assert len(cache) == 3 and cache.peek("b") is None and cache.peek("a") == "a#1"
    for i in range(1000):
        await cache.get(f"unknown-{i}")
    assert len(cache) == 3
    long = "x" * 11
    assert await cache.get(long) == f"{long}#{len(calls)}"
    assert cache.peek(long) is None and len(cache) == 3  # looked up, never stored


async def test_a_failed_lookup_raises_to_the_waiting_caller() -> None:
    async def broken(key: str | None) -> int:
        raise RuntimeError("down")

    cache: LookupCache[int] = LookupCache(broken, fresh_s=1)
    with pytest.raises(RuntimeError):
        await cache.get("m")
    assert len(cache) == 0
