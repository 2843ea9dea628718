from pathlib import Path

import pytest

from llamanet.models.errors import InvalidGGUFError
from llamanet.models.gguf import read_gguf
from tests.ggufgen import gguf_bytes, with_chat_template, write_gguf


def test_reads_metadata_of_a_valid_file(tmp_path: Path) -> None:
    info = read_gguf(write_gguf(tmp_path / "m.gguf", arch="gemma3", template="{{ x }}"))
    assert info.version == 3
    assert info.n_tensors == 1
    assert info.architecture == "gemma3"
    assert info.chat_template == "{{ x }}"
    assert info.metadata["tokenizer.ggml.tokens"] == [2]


def test_missing_template_is_none(tmp_path: Path) -> None:
    assert read_gguf(write_gguf(tmp_path / "m.gguf")).chat_template is None


def test_truncated_tensor_data_is_rejected(tmp_path: Path) -> None:
    data = gguf_bytes(n_elements=1024)
    path = tmp_path / "t.gguf"
    path.write_bytes(data[:-100])
    with pytest.raises(InvalidGGUFError, match="truncated model file"):
        read_gguf(path)


def test_truncated_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.gguf"
    path.write_bytes(gguf_bytes()[:40])
    with pytest.raises(InvalidGGUFError, match="truncated"):
        read_gguf(path)


def test_not_a_gguf(tmp_path: Path) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(InvalidGGUFError, match="not a GGUF file"):
        read_gguf(path)


def test_implausible_counts_are_rejected(tmp_path: Path) -> None:
    data = bytearray(gguf_bytes())
    data[8:16] = (2**40).to_bytes(8, "little")  # tensor count
    path = tmp_path / "c.gguf"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidGGUFError, match="corrupt"):
        read_gguf(path)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidGGUFError, match="not found"):
        read_gguf(tmp_path / "nope.gguf")
    with pytest.raises(InvalidGGUFError, match="not a file"):
        read_gguf(tmp_path)


@pytest.mark.parametrize(
    ("name", "instruct"),
    [
        ("Gemma 3 270m", False),
        ("gemma-3-270m-it", True),
        ("SmolLM2 135M Instruct", True),
        ("Qwen chat 7B", True),
        ("Llama Italian base", False),
    ],
)
def test_looks_instruct(tmp_path: Path, name: str, instruct: bool) -> None:
    info = read_gguf(write_gguf(tmp_path / "m.gguf"))
    info.metadata["general.name"] = name
    assert info.looks_instruct is instruct


def test_a_copy_with_another_chat_template_keeps_the_tensors(tmp_path: Path) -> None:
    src = write_gguf(tmp_path / "a.gguf", n_elements=100, template="old {{ messages }}")
    dst = with_chat_template(src, tmp_path / "b.gguf", "new {{ tools }}")
    info = read_gguf(dst)
    assert info.chat_template == "new {{ tools }}" and info.architecture == "llama" and info.n_tensors == 1
    assert dst.read_bytes().endswith(b"\x01" * 400)  # the data section, whole and aligned (read_gguf checks)
