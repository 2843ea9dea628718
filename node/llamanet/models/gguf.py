"""A pure-Python GGUF reader: validates a model file before llama.cpp ever sees it.

It reads the header, the metadata key/values (arrays are skipped, only their length is kept) and the
tensor table, then checks that every tensor's data lies inside the file, so a truncated download is
caught with a clear message instead of a crash deep inside llama.cpp.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from llamanet.models.errors import InvalidGGUFError

MAGIC = b"GGUF"
_MAX_STRING = 1 << 26
_MAX_COUNT = 1 << 24

# ggml type id -> (elements per block, bytes per block)
_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8),
    28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17),
}  # fmt: skip

# GGUF value type id -> struct format of a scalar
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


@dataclass
class GGUFInfo:
    """What LlamaNet needs to know about a model file."""

    path: Path
    version: int
    n_tensors: int
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def looks_instruct(self) -> bool:
        """Whether the model's names say it was instruction-tuned (``-it``, ``Instruct``, ``chat``...)."""
        names = " ".join(
            str(self.metadata.get(k, "")) for k in ("general.name", "general.finetune", "general.basename")
        )
        return re.search(r"(?<![a-z])(it|instruct|chat|sft|dpo|rlhf)(?![a-z])", names.lower()) is not None

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return value if isinstance(value, int) else None


class _Reader:
    def __init__(self, f: BinaryIO, path: Path) -> None:
        self.f = f
        self.path = path

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise InvalidGGUFError(f"{self.path}: truncated GGUF header (file ends early)")
        return data

    def unpack(self, fmt: str) -> int | float | bool:
        value: int | float | bool = struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]
        return value

    def count(self, what: str) -> int:
        n = int(self.unpack("<Q"))
        if n > _MAX_COUNT:
            raise InvalidGGUFError(f"{self.path}: implausible {what} count {n}; the file is corrupt")
        return n

    def string(self) -> str:
        n = int(self.unpack("<Q"))
        if n > _MAX_STRING:
            raise InvalidGGUFError(f"{self.path}: implausible string length {n}; the file is corrupt")
        return self.read(n).decode("utf-8", errors="replace")

    def value(self, vtype: int) -> object:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype = int(self.unpack("<I"))
            n = self.count("array element")
            if itype in _SCALARS:
                self.f.seek(n * struct.calcsize(_SCALARS[itype]), 1)
            elif itype == _STRING:
                for _ in range(n):
                    self.f.seek(int(self.unpack("<Q")), 1)
            else:
                raise InvalidGGUFError(f"{self.path}: unsupported array element type {itype}")
            return [n]
        raise InvalidGGUFError(f"{self.path}: unknown metadata value type {vtype}; the file is corrupt")


def read_gguf(path: Path) -> GGUFInfo:
    """Parse and validate ``path``; raise :class:`InvalidGGUFError` with a clear message if it is bad."""
    if not path.exists():
        raise InvalidGGUFError(f"model file not found: {path}")
    if not path.is_file():
        raise InvalidGGUFError(f"model path is not a file: {path}")
    size = path.stat().st_size
    with path.open("rb") as f:
        r = _Reader(f, path)
        if f.read(4) != MAGIC:
            raise InvalidGGUFError(f"{path}: not a GGUF file (bad magic bytes)")
        version = int(r.unpack("<I"))
        if version not in (2, 3):
            raise InvalidGGUFError(f"{path}: unsupported GGUF version {version}")
        n_tensors = r.count("tensor")
        n_kv = r.count("metadata key")
        info = GGUFInfo(path=path, version=version, n_tensors=n_tensors)
        for _ in range(n_kv):
            key = r.string()
            info.metadata[key] = r.value(int(r.unpack("<I")))
        data_end = 0
        for _ in range(n_tensors):
            name = r.string()
            n_dims = int(r.unpack("<I"))
            if n_dims > 8:
                raise InvalidGGUFError(f"{path}: tensor {name!r} has {n_dims} dimensions; corrupt")
            elements = 1
            for _ in range(n_dims):
                elements *= int(r.unpack("<Q"))
            ttype = int(r.unpack("<I"))
            offset = int(r.unpack("<Q"))
            block, nbytes = _TYPE_SIZES.get(ttype, (1, 0))
            data_end = max(data_end, offset + (elements // block) * nbytes)
        alignment = info.metadata.get("general.alignment", 32)
        align = alignment if isinstance(alignment, int) and alignment > 0 else 32
        data_start = -(-f.tell() // align) * align
    if data_start + data_end > size:
        raise InvalidGGUFError(
            f"{path}: truncated model file: tensor data needs {data_start + data_end} bytes, "
            f"the file has {size}; download it again"
        )
    return info
