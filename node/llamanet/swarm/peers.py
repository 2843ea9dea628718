"""Bootstrap peers and advertised hosts: DNS resolution; which peers to (re)join; the retry backoff schedule.

Parsing of peer lists: ``llamanet_common.addresses``.
"""

from __future__ import annotations

import asyncio
import socket


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
