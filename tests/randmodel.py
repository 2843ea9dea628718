"""Random-weight llama GGUFs that llama.cpp loads and serves: a real model's tokenizer, any shape.

For speed checks where a real model cannot travel (a GPU host with a 64 MiB upload): the weights are
random (the text is nonsense), but the shapes, the quantisation and so the work per token are those of
the model named. ``tokenizer_header`` keeps only a model file's ``tokenizer.*`` metadata (SmolLM2's:
about 2 MB), ``write_random_llama`` writes a whole model around such a header.

    python -m tests.randmodel header SRC.gguf tokenizer.gguf
    python -m tests.randmodel model tokenizer.gguf llama-8b out.gguf
"""

from __future__ import annotations

import argparse
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.ggufgen import _Cursor, _string

if TYPE_CHECKING:
    import numpy as np

ALIGN = 32
F32, Q4_0, Q8_0 = 0, 2, 8
_U32, _F32V, _STR = 4, 6, 8


@dataclass(frozen=True)
class Shape:
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    qtype: int  # Q8_0 or Q4_0 for the matrices (norms are F32)
    rope_base: float = 100000.0
    n_ctx: int = 8192


SHAPES = {
    # SmolLM2-135M's own shape (30 layers of 576): the model the CPU benchmarks use, in Q8_0
    "smollm2-135m": Shape(576, 30, 9, 3, 1536, Q8_0),
    # Llama-3-8B's body (32 layers of 4096, GQA 32/8, FFN 14336) in Q4_0 (~4 GB), with SmolLM2's vocabulary
    "llama-8b": Shape(4096, 32, 32, 8, 14336, Q4_0, rope_base=500000.0),
    # a few MB, for tests
    "tiny": Shape(64, 2, 4, 2, 128, Q8_0),
}


def _kvs(path: Path, prefix: str) -> tuple[list[bytes], dict[str, int]]:
    """The raw key/value records of ``path`` whose key starts with ``prefix``, and its u32 values."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        cur = _Cursor(memoryview(mm))
        try:
            if cur.take(4) != b"GGUF":
                raise ValueError(f"{path}: not a GGUF file")
            _version, _n_tensors, n_kv = cur.u32(), cur.u64(), cur.u64()
            out, ints = [], {}
            for _ in range(n_kv):
                start = cur.pos
                key = cur.string()
                vtype = cur.u32()
                if vtype == _U32:
                    ints[key] = int(struct.unpack("<I", bytes(cur.data[cur.pos : cur.pos + 4]))[0])
                cur.skip_value(vtype)
                if key.startswith(prefix):
                    out.append(bytes(cur.data[start : cur.pos]))
            return out, ints
        finally:
            cur.data.release()


def _kv(key: str, vtype: int, value: object) -> bytes:
    payload = _string(str(value)) if vtype == _STR else struct.pack("<I" if vtype == _U32 else "<f", value)
    return _string(key) + struct.pack("<I", vtype) + payload


def tokenizer_header(src: Path, dst: Path) -> Path:
    """A GGUF without tensors holding ``src``'s ``tokenizer.*`` metadata (vocabulary, merges, special
    tokens, chat template)."""
    kvs, _ = _kvs(src, "tokenizer.")
    if not kvs:
        raise ValueError(f"{src}: no tokenizer metadata")
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
    dst.write_bytes(head + b"\0" * (-len(head) % ALIGN))  # an empty, aligned data section
    return dst


def _vocabulary(header: Path) -> tuple[list[str], list[int], str]:
    """The header's tokens, their types (1: normal) and the tokenizer model ("gpt2", "llama", ...)."""
    tokens: list[str] = []
    types: list[int] = []
    model = ""
    with header.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        cur = _Cursor(memoryview(mm))
        try:
            cur.take(4)
            _v, _t, n_kv = cur.u32(), cur.u64(), cur.u64()
            for _ in range(n_kv):
                key, vtype = cur.string(), cur.u32()
                if key == "tokenizer.ggml.tokens" and vtype == 9:
                    cur.u32()
                    tokens = [cur.string() for _ in range(cur.u64())]
                elif key == "tokenizer.ggml.token_type" and vtype == 9:
                    cur.u32()
                    types = [int(struct.unpack("<i", cur.take(4))[0]) for _ in range(cur.u64())]
                elif key == "tokenizer.ggml.model" and vtype == _STR:
                    model = cur.string()
                else:
                    cur.skip_value(vtype)
        finally:
            cur.data.release()
    if not tokens:
        raise ValueError(f"{header}: no tokenizer.ggml.tokens")
    return tokens, types or [1] * len(tokens), model


def _gpt2_bytes() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the character that stands for each byte in a token's text."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def unsampled_tokens(tokens: list[str], types: list[int], model: str) -> list[int]:
    """Tokens a random model must never pick: control tokens (their text is empty) and, in a byte-level
    vocabulary, tokens that are not whole UTF-8 (a stream of those shows no text). Greedy decoding of
    random weights repeats one token, which could otherwise be such a one."""
    table = _gpt2_bytes() if model == "gpt2" else None
    out = []
    for i, (text, kind) in enumerate(zip(tokens, types, strict=True)):
        if kind != 1:
            out.append(i)
        elif table is not None:
            try:
                bytes(table[c] for c in text).decode("utf-8")
            except (KeyError, UnicodeDecodeError):
                out.append(i)
    return out


def _tensors(s: Shape, n_vocab: int) -> list[tuple[str, tuple[int, ...], int]]:
    """(name, dims with ne0 first, ggml type) of a llama model; the output head is tied to token_embd."""
    head_dim = s.n_embd // s.n_head
    kv = s.n_head_kv * head_dim
    out = [("token_embd.weight", (s.n_embd, n_vocab), s.qtype), ("output_norm.weight", (s.n_embd,), F32)]
    for i in range(s.n_layer):
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", (s.n_embd,), F32),
            (b + "attn_q.weight", (s.n_embd, s.n_embd), s.qtype),
            (b + "attn_k.weight", (s.n_embd, kv), s.qtype),
            (b + "attn_v.weight", (s.n_embd, kv), s.qtype),
            (b + "attn_output.weight", (s.n_embd, s.n_embd), s.qtype),
            (b + "ffn_norm.weight", (s.n_embd,), F32),
            (b + "ffn_gate.weight", (s.n_embd, s.n_ff), s.qtype),
            (b + "ffn_up.weight", (s.n_embd, s.n_ff), s.qtype),
            (b + "ffn_down.weight", (s.n_ff, s.n_embd), s.qtype),
        ]
    return out


def _nbytes(dims: tuple[int, ...], qtype: int) -> int:
    n = 1
    for d in dims:
        n *= d
    return 4 * n if qtype == F32 else n // 32 * (18 if qtype == Q4_0 else 34)


def _pattern(qtype: int, n_in: int, rng: np.random.Generator, blocks: int = 1 << 15) -> bytes:
    """Random quantised blocks whose weights have a standard deviation of about 1/sqrt(n_in)."""
    import numpy as np  # only here: the header needs no numpy

    if qtype == Q8_0:
        arr = np.zeros(blocks, dtype=[("d", "<f2"), ("qs", "i1", 32)])
        arr["qs"] = rng.integers(-127, 128, size=(blocks, 32), dtype=np.int8)
        arr["d"] = 1.0 / (73.3 * np.sqrt(n_in))
    else:
        arr = np.zeros(blocks, dtype=[("d", "<f2"), ("qs", "u1", 16)])
        arr["qs"] = rng.integers(0, 256, size=(blocks, 16), dtype=np.uint8)
        arr["d"] = 1.0 / (4.6 * np.sqrt(n_in))
    return arr.tobytes()


def _embedding(qtype: int, dims: tuple[int, ...], zero_rows: list[int], rng: np.random.Generator) -> bytes:
    """The token embeddings (weights of about unit size), the rows of ``zero_rows`` all zero: as the tied
    output head they give those tokens a logit of 0 where the others spread over about +-sqrt(n_embd)."""
    n_embd, n_vocab = dims
    per_row = n_embd // 32
    rows = bytearray(_pattern(qtype, 1, rng, blocks=n_vocab * per_row))
    row_bytes = len(rows) // n_vocab
    for i in zero_rows:
        rows[i * row_bytes : (i + 1) * row_bytes] = bytes(row_bytes)
    return bytes(rows)


def write_random_llama(header: Path, shape: Shape | str, dst: Path, seed: int = 0) -> Path:
    """A llama model of ``shape`` with random weights and ``header``'s tokenizer, written to ``dst``."""
    s = SHAPES[shape] if isinstance(shape, str) else shape
    if s.n_embd % s.n_head or s.n_embd % 32 or s.n_ff % 32:
        raise ValueError(f"unusable shape {s}")
    tokens, types, tok_model = _vocabulary(header)
    n_vocab = len(tokens)
    tok_kvs, _ = _kvs(header, "tokenizer.")
    a = "llama."
    kvs = [
        _kv("general.architecture", _STR, "llama"),
        _kv("general.name", _STR, f"random {shape if isinstance(shape, str) else 'llama'}"),
        _kv("general.alignment", _U32, ALIGN),
        _kv("general.file_type", _U32, 7 if s.qtype == Q8_0 else 2),
        _kv(a + "context_length", _U32, s.n_ctx),
        _kv(a + "embedding_length", _U32, s.n_embd),
        _kv(a + "block_count", _U32, s.n_layer),
        _kv(a + "feed_forward_length", _U32, s.n_ff),
        _kv(a + "attention.head_count", _U32, s.n_head),
        _kv(a + "attention.head_count_kv", _U32, s.n_head_kv),
        _kv(a + "rope.dimension_count", _U32, s.n_embd // s.n_head),
        _kv(a + "vocab_size", _U32, n_vocab),
        _kv(a + "rope.freq_base", _F32V, s.rope_base),
        _kv(a + "attention.layer_norm_rms_epsilon", _F32V, 1e-5),
        *tok_kvs,
    ]
    tensors = _tensors(s, n_vocab)
    infos, offset = b"", 0
    for name, dims, qtype in tensors:
        infos += _string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        infos += struct.pack("<IQ", qtype, offset)
        offset += _nbytes(dims, qtype) + (-_nbytes(dims, qtype) % ALIGN)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + infos
    import numpy as np

    rng = np.random.default_rng(seed)
    patterns: dict[tuple[int, int], bytes] = {}
    with dst.open("wb") as out:
        out.write(head + b"\0" * (-len(head) % ALIGN))
        for name, dims, qtype in tensors:
            size = _nbytes(dims, qtype)
            if qtype == F32:
                out.write(np.ones(dims[0], dtype="<f4").tobytes())
            elif name == "token_embd.weight":  # also the output head: zero rows are never picked
                out.write(_embedding(qtype, dims, unsampled_tokens(tokens, types, tok_model), rng))
            else:
                pat = patterns.setdefault((qtype, dims[0]), _pattern(qtype, dims[0], rng))
                for done in range(0, size, len(pat)):
                    out.write(pat[: min(len(pat), size - done)])
            out.write(b"\0" * (-size % ALIGN))
    return dst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("header", help="a tokenizer-only GGUF from a model file")
    h.add_argument("src", type=Path)
    h.add_argument("dst", type=Path)
    m = sub.add_parser("model", help="a random-weight llama model")
    m.add_argument("header", type=Path)
    m.add_argument("shape", choices=sorted(SHAPES))
    m.add_argument("dst", type=Path)
    args = ap.parse_args()
    if args.cmd == "header":
        tokenizer_header(args.src, args.dst)
    else:
        write_random_llama(args.header, args.shape, args.dst)
    print(f"{args.dst}: {args.dst.stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
