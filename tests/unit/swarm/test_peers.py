import asyncio
import itertools

import pytest

from llamanet.swarm.peers import backoff_delay, resolve_peers, retry_until_done
from llamanet_common.addresses import parse_peers
from llamanet_common.errors import PeerAddressError


def test_parse_peers() -> None:
    assert parse_peers("a:1, b.example:2,[::1]:3,") == [("a", 1), ("b.example", 2), ("::1", 3)]
    assert parse_peers("") == []
    assert parse_peers(" , ") == []


@pytest.mark.parametrize(
    "bad", ["host", "host:", ":80", "h:0", "h:65536", "h:x", "::1:80", "[::1]80", "[::1"]
)
def test_parse_peers_rejects_bad_input(bad: str) -> None:
    with pytest.raises(PeerAddressError, match="bad peer"):
        parse_peers(bad)


def test_peer_address_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_peers("nope")


def test_backoff_schedule_doubles_and_caps() -> None:
    assert [backoff_delay(i) for i in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff_delay(3, initial=0.1, cap=0.5) == 0.5
    assert backoff_delay(10_000) == 30
    with pytest.raises(ValueError):
        backoff_delay(-1)


async def test_resolve_peers_resolves_names_and_drops_unknown_hosts() -> None:
    resolved = await resolve_peers([("localhost", 4000), ("127.0.0.1", 4001), ("no-such-host.invalid", 1)])
    assert resolved == [("127.0.0.1", 4000), ("127.0.0.1", 4001)]


async def test_retries_start_on_time_while_earlier_tries_still_wait_for_their_answers() -> None:
    """A try that waits (a ping to a peer still cut off, until the RPC timeout) does not hold back the
    next: try n starts ``delay`` after try n - 1 started, and the first one that succeeds ends the loop
    at once, cancelling the tries still waiting."""
    loop = asyncio.get_running_loop()
    started: list[float] = []
    cancelled: list[int] = []
    t0 = loop.time()

    async def try_once(n: int) -> bool:
        started.append(loop.time() - t0)
        if n < 3:  # cut off: waits far longer than the delay between tries
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append(n)
                raise
        return True

    await asyncio.wait_for(retry_until_done(try_once, lambda n: 0.05), 5)
    assert len(started) == 4
    assert started[-1] < 1.0, started  # not 3 x 30 s: no try waited for the one before
    assert all(b - a < 0.5 for a, b in itertools.pairwise(started)), started
    assert sorted(cancelled) == [0, 1, 2]


async def test_retries_follow_the_delays_bound_the_tries_in_flight_and_survive_a_failed_try() -> None:
    delays: list[int] = []
    running = peak = 0

    async def try_once(n: int) -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            if n == 0:
                raise OSError("resolver down")
            await asyncio.sleep(0.1)  # 10 delays: more than 3 would be in flight
            return n >= 8
        finally:
            running -= 1

    def delay(n: int) -> float:
        delays.append(n)
        return 0.01

    await asyncio.wait_for(retry_until_done(try_once, delay, max_in_flight=3), 5)
    assert peak == 3  # past 3 in flight a try is skipped, not queued
    assert delays == sorted(delays) and delays[0] == 0
    assert running == 0


async def test_retries_end_at_the_first_try_that_succeeds() -> None:
    calls: list[int] = []

    async def try_once(n: int) -> bool:
        calls.append(n)
        return n == 1

    await asyncio.wait_for(retry_until_done(try_once, lambda n: 0.01), 5)
    assert calls == [0, 1]
