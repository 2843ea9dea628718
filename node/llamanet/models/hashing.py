"""Streaming sha256 helpers shared by the download sources."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path, h: hashlib._Hash | None = None) -> hashlib._Hash:
    """Feed ``path`` into ``h`` (a new sha256 when None) and return it."""
    h = h or hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h
