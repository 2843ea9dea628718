"""Writes small, structurally valid GGUF files for tests of the reader, the cache and downloads, and
copies of real model files with another chat template (``with_chat_template``)."""

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


_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class _Cursor:
    def __init__(self, data: memoryview) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def string(self) -> str:
        return self.take(self.u64()).decode()

    def skip_value(self, vtype: int) -> None:
        if vtype in _SCALAR_SIZES:
            self.pos += _SCALAR_SIZES[vtype]
        elif vtype == 8:
            n = self.u64()  # read before ``self.pos +=`` takes the position
            self.pos += n
        elif vtype == 9:
            itype, count = self.u32(), self.u64()
            if itype in _SCALAR_SIZES:
                self.pos += count * _SCALAR_SIZES[itype]
            else:
                for _ in range(count):
                    self.skip_value(itype)
        else:
            raise ValueError(f"unknown GGUF value type {vtype}")


def with_chat_template(src: Path, dst: Path, template: str) -> Path:
    """A copy of the model file ``src`` whose ``tokenizer.chat_template`` is ``template``."""
    import mmap

    with src.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        cur = _Cursor(memoryview(mm))
        try:
            assert cur.take(4) == b"GGUF"
            version, n_tensors, n_kv = cur.u32(), cur.u64(), cur.u64()
            kvs: list[bytes] = []
            alignment = 32
            for _ in range(n_kv):
                start = cur.pos
                key = cur.string()
                vtype = cur.u32()
                value_at = cur.pos
                cur.skip_value(vtype)
                if key == "general.alignment":
                    alignment = int(struct.unpack("<I", bytes(cur.data[value_at : value_at + 4]))[0])
                if key != "tokenizer.chat_template":
                    kvs.append(bytes(cur.data[start : cur.pos]))
            kvs.append(_string("tokenizer.chat_template") + struct.pack("<I", 8) + _string(template))
            infos_at = cur.pos
            for _ in range(n_tensors):
                cur.string()
                n_dims = cur.u32()
                cur.pos += 8 * n_dims + 4 + 8  # dims, type, offset
            infos = bytes(cur.data[infos_at : cur.pos])
            data_at = cur.pos + (-cur.pos % alignment)
            head = b"GGUF" + struct.pack("<IQQ", version, n_tensors, len(kvs)) + b"".join(kvs) + infos
            with dst.open("wb") as out:
                out.write(head + b"\0" * (-len(head) % alignment))
                out.write(cur.data[data_at:])
        finally:
            cur.data.release()  # before the map closes
    return dst
