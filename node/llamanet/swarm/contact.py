"""Pure checks of the contact address a frame advertises: where its sender is filed and reached.

A peer is filed under the address its frames advertise, never under a packet's source address alone
(behind masquerading NAT the source is the NAT's address and a random port, which nobody else can reach).
The advertised address is bounded: an IPv4 literal (frames are sent from the event loop, which must not
resolve names), never unspecified, link-local (cloud metadata lives there), multicast, broadcast or
reserved, never a known metadata address, and loopback only from a loopback source. ``sane_nodes``
keeps the well-formed contacts of an untrusted ``find_node`` answer.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kademlia.node import Node

from llamanet.swarm.wire import Contact

# metadata services outside 169.254.0.0/16 (Alibaba Cloud, Azure wire server)
METADATA_ADDRESSES = frozenset({"100.100.100.200", "168.63.129.16"})


def unusable_reason(host: str) -> str | None:
    """Why ``host`` cannot be an advertised DHT address (loopback aside), or None if it can."""
    try:
        ip = ipaddress.IPv4Address(host)
    except ValueError:
        return "not an IPv4 address"
    if ip.is_unspecified or ip.is_link_local or ip.is_multicast or ip.is_reserved:
        return "unspecified, link-local, multicast or reserved"
    if ip == ipaddress.IPv4Address("255.255.255.255") or int(ip) >> 24 == 0:
        return "broadcast or 'this network'"
    if host in METADATA_ADDRESSES:
        return "a cloud metadata address"
    return None


def contact_address(contact: Contact, source: tuple[str, int]) -> tuple[str, int] | None:
    """The (host, port) to file a sender at: its advertised contact, the empty host meaning the packet's
    source host. None when the advertised address is not acceptable (the frame is dropped)."""
    host = contact.host or source[0]
    if not 0 < contact.port < 65536:
        return None
    if unusable_reason(host) is not None:
        return None
    if ipaddress.IPv4Address(host).is_loopback and not _is_loopback(source[0]):
        return None  # a remote peer cannot be reached at our own loopback
    return host, contact.port


def own_contact(advertise_host: str | None, bound: tuple[str, int], advertise_port: int | None) -> Contact:
    """What this node advertises: the configured host or its bind address, as an IPv4 literal; an
    unspecified address or a name (not resolved yet) becomes "" (receivers use the packet's source host)."""
    host = advertise_host or bound[0]
    if host == "0.0.0.0" or not is_ipv4(host):
        host = ""
    return Contact(host, advertise_port or bound[1])


def is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sane_nodes(raw: Any, limit: int) -> list[Node]:
    """Contacts from an untrusted ``find_node`` answer; malformed tuples are dropped."""
    if not isinstance(raw, list):
        return []
    nodes = []
    for item in raw[:limit]:
        if (
            isinstance(item, list | tuple)
            and len(item) == 3
            and isinstance(item[0], bytes)
            and len(item[0]) == 20
            and isinstance(item[1], str)
            and isinstance(item[2], int)
            and 0 < item[2] < 65536
        ):
            nodes.append(Node(item[0], item[1], item[2]))
    return nodes
