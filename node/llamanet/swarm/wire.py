"""Datagram framing around rpcudp packets (frame v2): version, sender contact, client flag, optional HMAC.

Frame v2 (``docs/design/formats-v2.md``)::

    MAGIC (0xA8) | version (1) = 2 | flags (1) | timestamp_ms (8) | nonce (8)
    | host_len (1) | host (ASCII, host_len bytes) | port (2) | pad_len (2) | pad (zeros, pad_len bytes)
    | [HMAC-SHA256(secret, everything before the HMAC | payload) (32)] | payload

``host``/``port`` are the sender's advertised DHT contact (``SwarmConfig.advertise_host/port``, else its
bind address; an empty host means "the address my packets come from"). Receivers file the sender there,
never at a packet's source address alone (``contact`` checks it). Timestamp and nonce (under the HMAC
when there is a secret) give the replay window the protocol checks (issue #14). v1 frames
(``0xA7 | flags``) are recognised (``is_v1_frame``) only to be named in a log line and dropped.
Padding lets a request be big enough for its answer: a node answers a sender that has not proved its
address with at most 3x the bytes it received (as QUIC does before address validation), so requests are
padded to ``REQUEST_PAD_BYTES``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass

MAGIC = 0xA8
MAGIC_V1 = 0xA7
VERSION = 2
FLAG_CLIENT = 0x01
FLAG_MAC = 0x02
_KNOWN_FLAGS = FLAG_CLIENT | FLAG_MAC
MAC_BYTES = 32
MAX_HOST_BYTES = 64
MAX_DATAGRAM_BYTES = 8 * 1024
_FIXED = struct.Struct(">BBBQ8s")  # magic, version, flags, timestamp_ms, nonce
_PORT = struct.Struct(">H")
REQUEST_PAD_BYTES = 1200


@dataclass(frozen=True)
class Contact:
    """The DHT address a sender advertises: ``host`` an address literal or "" (use the packet's)."""

    host: str
    port: int


@dataclass(frozen=True)
class Frame:
    payload: bytes
    from_client: bool
    contact: Contact
    timestamp_ms: int = 0
    nonce: bytes = b""
    version: int = VERSION


def encode_frame(
    payload: bytes, *, secret: bytes | None, client: bool, contact: Contact, pad_to: int = 0
) -> bytes:
    """The frame of ``payload``, padded so the whole datagram is at least ``pad_to`` bytes."""
    host = contact.host.encode("ascii")
    if len(host) > MAX_HOST_BYTES or not 0 <= contact.port < 65536:
        raise ValueError(f"advertised contact {contact.host}:{contact.port} does not fit a frame")
    flags = (FLAG_CLIENT if client else 0) | (FLAG_MAC if secret else 0)
    header = (
        _FIXED.pack(MAGIC, VERSION, flags, time.time_ns() // 1_000_000, os.urandom(8))
        + bytes((len(host),))
        + host
        + _PORT.pack(contact.port)
    )
    fixed = len(header) + _PORT.size + (MAC_BYTES if secret else 0) + len(payload)
    pad = max(0, min(pad_to, MAX_DATAGRAM_BYTES) - fixed)
    header += _PORT.pack(pad) + bytes(pad)
    if secret is None:
        return header + payload
    return header + _mac(secret, header + payload) + payload


def decode_frame(
    datagram: bytes, *, secret: bytes | None, max_bytes: int = MAX_DATAGRAM_BYTES
) -> Frame | None:
    """The frame, or ``None`` for anything to drop (oversized, foreign, v1, malformed, unauthenticated)."""
    if len(datagram) > max_bytes or len(datagram) < _FIXED.size + 1 + 2 * _PORT.size:
        return None
    magic, version, flags, timestamp_ms, nonce = _FIXED.unpack_from(datagram)
    if magic != MAGIC or version != VERSION or flags & ~_KNOWN_FLAGS:
        return None
    host_len = datagram[_FIXED.size]
    host_end = _FIXED.size + 1 + host_len
    if host_len > MAX_HOST_BYTES or len(datagram) < host_end + 2 * _PORT.size:
        return None
    try:
        host = datagram[_FIXED.size + 1 : host_end].decode("ascii")
    except UnicodeDecodeError:
        return None
    (port,) = _PORT.unpack_from(datagram, host_end)
    (pad,) = _PORT.unpack_from(datagram, host_end + _PORT.size)
    header_end = host_end + 2 * _PORT.size + pad
    if len(datagram) < header_end:
        return None
    if bool(flags & FLAG_MAC) != (secret is not None):
        return None
    payload = datagram[header_end:]
    if secret is not None:
        mac, payload = payload[:MAC_BYTES], payload[MAC_BYTES:]
        if len(mac) != MAC_BYTES or not hmac.compare_digest(
            mac, _mac(secret, datagram[:header_end] + payload)
        ):
            return None
    return Frame(payload, bool(flags & FLAG_CLIENT), Contact(host, port), timestamp_ms, nonce, version)


def is_v1_frame(datagram: bytes) -> bool:
    """A frame of the previous format (``0xA7 | flags``), from a node that needs an upgrade."""
    return len(datagram) >= 2 and datagram[0] == MAGIC_V1


def _mac(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()
