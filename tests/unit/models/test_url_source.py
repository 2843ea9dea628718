import hashlib
from pathlib import Path

import pytest

from llamanet.models.cache import ModelCache
from llamanet.models.errors import ChecksumMismatchError, DownloadError, InvalidGGUFError
from llamanet.models.url_source import filename_from_url, pull_from_url
from tests.fileserver import FileServer
from tests.ggufgen import gguf_bytes

GGUF = gguf_bytes(n_elements=300_000)
SHA = hashlib.sha256(GGUF).hexdigest()


def test_download_verifies_and_caches(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    with FileServer({"/m/tiny.gguf": GGUF}) as srv:
        model = pull_from_url(f"{srv.url}/m/tiny.gguf", cache, sha256=SHA.upper())
    assert model.name == "tiny" and model.sha256 == SHA
    assert model.path.read_bytes() == GGUF
    assert cache.find("tiny") is not None


def test_dropped_connection_then_resume(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    with FileServer({"/tiny.gguf": GGUF}, cut_first=1) as srv:
        with pytest.raises(DownloadError, match="run the same pull again to resume"):
            pull_from_url(f"{srv.url}/tiny.gguf", cache, sha256=SHA)
        assert cache.find("tiny") is None  # a half download never looks valid
        partial = cache.partial_path("tiny", "tiny.gguf")
        assert 0 < partial.stat().st_size < len(GGUF)
        model = pull_from_url(f"{srv.url}/tiny.gguf", cache, sha256=SHA)
        assert srv.requests[-1]["Range"] == f"bytes={len(GGUF) // 2}-"
    assert model.path.read_bytes() == GGUF


def test_server_ignoring_range_restarts_cleanly(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    cache.partial_path("tiny", "tiny.gguf").write_bytes(b"garbage that is not the file")
    with FileServer({"/tiny.gguf": GGUF}, honour_range=False) as srv:
        model = pull_from_url(f"{srv.url}/tiny.gguf", cache, sha256=SHA)
    assert model.path.read_bytes() == GGUF


def test_checksum_mismatch_leaves_nothing(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    with FileServer({"/tiny.gguf": GGUF}) as srv, pytest.raises(ChecksumMismatchError):
        pull_from_url(f"{srv.url}/tiny.gguf", cache, sha256="0" * 64)
    assert cache.find("tiny") is None
    assert not cache.partial_path("tiny", "tiny.gguf").exists()


def test_not_a_gguf_is_rejected(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    with FileServer({"/x.gguf": b"<html>login page</html>"}) as srv, pytest.raises(InvalidGGUFError):
        pull_from_url(f"{srv.url}/x.gguf", cache)
    assert cache.entries() == []


def test_http_error(tmp_path: Path) -> None:
    with FileServer({}) as srv, pytest.raises(DownloadError, match="HTTP 404"):
        pull_from_url(f"{srv.url}/missing.gguf", ModelCache(tmp_path))


def test_filename_from_url() -> None:
    assert filename_from_url("https://h/a/b/My%20Model.gguf?x=1") == "My Model.gguf"
    assert filename_from_url("https://h/") == "model.gguf"
