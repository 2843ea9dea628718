"""Datagram framing around rpcudp packets: size limit, client flag, and optional swarm-secret HMAC.

Frame: ``MAGIC (1) | flags (1) | [HMAC-SHA256(secret, MAGIC|flags|payload) (32)] | payload``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

MAGIC = 0xA7
FLAG_CLIENT = 0x01
FLAG_MAC = 0x02
MAC_BYTES = 32
MAX_DATAGRAM_BYTES = 8 * 1024


@dataclass(frozen=True)
class Frame:
    payload: bytes
    from_client: bool


def encode_frame(payload: bytes, *, secret: bytes | None, client: bool) -> bytes:
    flags = (FLAG_CLIENT if client else 0) | (FLAG_MAC if secret else 0)
    header = bytes((MAGIC, flags))
    if secret is None:
        return header + payload
    return header + _mac(secret, header + payload) + payload


def decode_frame(
    datagram: bytes, *, secret: bytes | None, max_bytes: int = MAX_DATAGRAM_BYTES
) -> Frame | None:
    """The frame's payload, or ``None`` for anything to drop (oversized, foreign, unauthenticated)."""
    if len(datagram) > max_bytes or len(datagram) < 2 or datagram[0] != MAGIC:
        return None
    flags = datagram[1]
    has_mac = bool(flags & FLAG_MAC)
    if has_mac != (secret is not None):
        return None
    if secret is None:
        return Frame(datagram[2:], bool(flags & FLAG_CLIENT))
    mac, payload = datagram[2 : 2 + MAC_BYTES], datagram[2 + MAC_BYTES :]
    if not hmac.compare_digest(mac, _mac(secret, datagram[:2] + payload)):
        return None
    return Frame(payload, bool(flags & FLAG_CLIENT))


def _mac(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()
