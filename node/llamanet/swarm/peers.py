"""Bootstrap peers and advertised hosts: DNS resolution; which peers to (re)join; the retry backoff schedule
and the retry loop (``retry_until_done``: tries overlap, none waits for the one before to time out).

Parsing of peer lists: ``llamanet_common.addresses``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def resolve_peers(peers: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Resolve host names to IPv4 addresses with the event loop's resolver; unresolvable hosts are dropped."""
    loop = asyncio.get_running_loop()
    resolved: list[tuple[str, int]] = []
    for host, port in peers:
        try:
            infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
        except (socket.gaierror, UnicodeError):
            continue
        for info in infos[:1]:
            resolved.append((str(info[4][0]), port))
    return resolved


async def resolve_host(host: str) -> str | None:
    """``host`` as an IPv4 address literal (resolved once if it is a name), or None if it does not resolve."""
    found = await resolve_peers([(host, 0)])
    return found[0][0] if found else None


async def retry_until_done(
    try_once: Callable[[int], Awaitable[bool]], delay: Callable[[int], float], max_in_flight: int = 8
) -> None:
    """Start try ``n`` (``try_once(n)``, n = 0, 1, ...) ``delay(n)`` seconds after try ``n - 1`` started
    (the first after ``delay(0)``) until one returns True; tries still running then are cancelled.

    A try starts on time whether or not the tries before it have finished (at most ``max_in_flight``
    run at once; past that one is skipped): a ping to a peer still cut off waits a whole RPC timeout,
    and a retry that waited for it would reach the peer up to that timeout late once the link heals
    (at a 1 s heartbeat and the 5 s RPC timeout, 5 s of the 6 a retry took). A try that raised is
    logged and counts as not done.
    """
    loop = asyncio.get_running_loop()
    tries: set[asyncio.Task[bool]] = set()
    attempt = 0
    try:
        while True:
            deadline = loop.time() + delay(attempt)
            while (left := deadline - loop.time()) > 0:
                if not tries:
                    await asyncio.sleep(left)
                    break
                finished, _ = await asyncio.wait(tries, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    tries.discard(task)
                    if task.cancelled():
                        continue
                    if (error := task.exception()) is not None:
                        log.warning("a try to reach the configured peers failed: %r", error)
                    elif task.result():
                        return
            if len(tries) < max_in_flight:
                tries.add(asyncio.ensure_future(try_once(attempt)))
            attempt += 1
    finally:
        for task in tries:
            task.cancel()
        await asyncio.gather(*tries, return_exceptions=True)


def backoff_delay(attempt: int, *, initial: float = 1.0, cap: float = 30.0, factor: float = 2.0) -> float:
    """Delay before retry number ``attempt`` (0-based): initial * factor**attempt, capped."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    return float(min(cap, initial * factor ** min(attempt, 64)))


Address = tuple[str, int]


def peers_to_join(
    resolved: list[Address], answered: dict[Address, bytes], in_table: set[bytes], own_id: bytes
) -> list[Address]:
    """The configured peers worth pinging now: those that never answered, and those whose node is no
    longer in our routing table (it restarted, or a partition between us dropped it). An address that
    answered with our own id is ourselves (a pod in its own seed list) and never is.

    Retrying every configured peer, not only while the table is empty, is what joins two islands: a site
    whose own pods answered first would otherwise never reach the other site once it comes up, nor again
    after a partition between the sites heals.
    """
    return [a for a in resolved if answered.get(a) != own_id and answered.get(a) not in in_table]
