"""Writes small, structurally valid GGUF files for tests of the reader, the cache and downloads."""

from __future__ import annotations

import struct
from pathlib import Path


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_bytes(n_elements: int = 64, arch: str = "llama", template: str | None = None) -> bytes:
    """One F32 tensor of ``n_elements`` plus a little metadata; the data section is complete."""
    kv = [
        (_string("general.architecture"), 8, _string(arch)),
        (_string("general.alignment"), 4, struct.pack("<I", 32)),
        (_string("tokenizer.ggml.tokens"), 9, struct.pack("<IQ", 8, 2) + _string("a") + _string("b")),
    ]
    if template is not None:
        kv.append((_string("tokenizer.chat_template"), 8, _string(template)))
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kv))
    for key, vtype, value in kv:
        out += key + struct.pack("<I", vtype) + value
    out += _string("weight") + struct.pack("<I", 1) + struct.pack("<Q", n_elements)
    out += struct.pack("<IQ", 0, 0)  # F32 at offset 0
    out += b"\0" * (-len(out) % 32)
    return out + b"\x01" * (4 * n_elements)


def write_gguf(path: Path, **kwargs: object) -> Path:
    path.write_bytes(gguf_bytes(**kwargs))  # type: ignore[arg-type]
    return path
