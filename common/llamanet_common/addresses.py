"""Peer addresses: ``host:port`` lists as written in flags, env vars and LlamaNode specs."""

from __future__ import annotations

from llamanet_common.errors import PeerAddressError


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
