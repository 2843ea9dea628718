from pathlib import Path

import pytest

from llamanet.models.cache import ModelCache
from llamanet.models.errors import ModelNotFoundError
from tests.ggufgen import write_gguf


def _install(cache: ModelCache, name: str = "tiny") -> Path:
    partial = write_gguf(cache.partial_path(name, "tiny.gguf"))
    return cache.install(name, "tiny.gguf", partial, "ab" * 32, "test").path


def test_install_then_find_and_list(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    path = _install(cache)
    found = cache.find("tiny")
    assert found is not None and found.path == path and found.source == "test"
    assert [m.name for m in cache.entries()] == ["tiny"]
    assert not list(cache.partial_dir.iterdir())


def test_file_without_manifest_is_not_cached(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    (tmp_path / "half").mkdir()
    write_gguf(tmp_path / "half" / "half.gguf")
    assert cache.find("half") is None
    assert cache.entries() == []


def test_size_mismatch_is_not_cached(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    path = _install(cache)
    with path.open("ab") as f:
        f.write(b"x")
    assert cache.find("tiny") is None


def test_resolve_path_name_and_unknown(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path / "cache")
    path = _install(cache)
    assert cache.resolve("tiny") == (path, "tiny")
    assert cache.resolve(str(path)) == (path, "tiny")
    loose = write_gguf(tmp_path / "loose-model.gguf")
    assert cache.resolve(str(loose)) == (loose, "loose-model")
    with pytest.raises(ModelNotFoundError, match="llamanet models pull"):
        cache.resolve("nothing-here")
