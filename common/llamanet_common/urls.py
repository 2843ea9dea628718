"""Peer URLs as records advertise them: their one allowed form, and which networks a reader may reach.

Form (``url_problem``, applied to every record): ``http`` or ``https``, a host and an optional port, and
nothing else (no userinfo, path, query or fragment). Link-local (169.254/16, fe80::/10) and cloud
metadata addresses are never valid. Whether loopback, private or public addresses may be used is the
reader's choice (``NetworkPolicy``): records travel between nodes whose networks differ.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

NETWORK_CLASSES = ("loopback", "private", "public")
# names that resolve to a cloud's instance metadata service (the addresses are link-local or listed here)
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")}
)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a peer's URL, or None if it can."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"unparsable URL {url[:80]!r}"
    if parts.scheme not in ("http", "https"):
        return f"URL scheme {parts.scheme[:16]!r} is not http or https"
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return "URL has no host"
    if parts.username is not None or parts.password is not None:
        return "URL carries user info"
    if parts.path or parts.query or parts.fragment or url.endswith(("?", "#")):
        return "URL has a path, query or fragment (scheme, host and port only)"
    if port == 0:
        return "URL port 0"
    if host in METADATA_NAMES:
        return f"URL names a cloud metadata service ({host})"
    ip = _ip(host)
    if ip is not None:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_link_local or ip in METADATA_ADDRESSES:
            return f"URL address {ip} is link-local or a metadata service"
        if ip.is_multicast or ip.is_unspecified or (ip.is_reserved and not ip.is_loopback):
            return f"URL address {ip} cannot be a node"
    return None


def network_class(url: str) -> str:
    """``loopback``, ``private`` or ``public`` for a URL's host (a DNS name counts as public: its
    address is only known when it is resolved)."""
    host = (urlsplit(url).hostname or "").lower()
    ip = _ip(host)
    if host == "localhost" or (ip is not None and ip.is_loopback):
        return "loopback"
    if ip is not None and (ip.is_private or ip in ipaddress.ip_network("100.64.0.0/10")):
        return "private"
    return "public"


@dataclass(frozen=True)
class NetworkPolicy:
    """Which address classes of peer URLs a reader uses (a DNS name is always allowed: see above)."""

    allowed: frozenset[str] = frozenset(NETWORK_CLASSES)

    @classmethod
    def parse(cls, spec: str, *, own_host: str | None = None) -> NetworkPolicy:
        """``"loopback,private,public"`` or ``"auto"``: private and public, plus loopback when this node
        itself is reached on a loopback address (a swarm on one machine)."""
        items = {s.strip().lower() for s in spec.split(",") if s.strip()}
        if items == {"auto"}:
            items = {"private", "public"}
            if own_host is not None and network_class(f"http://{_bracket(own_host)}") == "loopback":
                items.add("loopback")
        unknown = items - set(NETWORK_CLASSES)
        if unknown:
            raise ValueError(
                f"unknown network class {sorted(unknown)[0]!r}; use {', '.join(NETWORK_CLASSES)}"
            )
        return cls(frozenset(items))

    def allows(self, url: str) -> bool:
        return url_problem(url) is None and network_class(url) in self.allowed


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
