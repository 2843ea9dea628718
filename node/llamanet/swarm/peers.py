"""Bootstrap peers: parsing ``host:port`` lists, DNS resolution, and the retry backoff schedule."""

from __future__ import annotations

import asyncio
import socket

from llamanet.swarm.errors import PeerAddressError


def parse_peers(spec: str) -> list[tuple[str, int]]:
    """Parse ``"a:1,b:2,[::1]:3"`` into ``[("a", 1), ("b", 2), ("::1", 3)]``; empty items are skipped."""
    peers: list[tuple[str, int]] = []
    for item in (part.strip() for part in spec.split(",")):
        if item:
            peers.append(_parse_one(item))
    return peers


def _parse_one(item: str) -> tuple[str, int]:
    if item.startswith("["):
        host, sep, rest = item[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise PeerAddressError(f"bad peer {item!r}: expected [ipv6]:port")
        port_text = rest[1:]
    else:
        host, sep, port_text = item.rpartition(":")
        if not sep:
            raise PeerAddressError(f"bad peer {item!r}: missing ':port'")
        if ":" in host:
            raise PeerAddressError(f"bad peer {item!r}: write IPv6 addresses as [addr]:port")
    if not host:
        raise PeerAddressError(f"bad peer {item!r}: empty host")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise PeerAddressError(f"bad peer {item!r}: port must be 1-65535")
    return host, int(port_text)


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


def backoff_delay(attempt: int, *, initial: float = 1.0, cap: float = 30.0, factor: float = 2.0) -> float:
    """Delay before retry number ``attempt`` (0-based): initial * factor**attempt, capped."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    return float(min(cap, initial * factor ** min(attempt, 64)))
