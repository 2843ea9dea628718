import hashlib
from pathlib import Path

import httpx
import pytest

from llamanet.models.cache import ModelCache
from llamanet.models.errors import (
    ChecksumMismatchError,
    ChecksumRequiredError,
    DownloadError,
    InvalidGGUFError,
)
from llamanet.models.url_source import download_client, filename_from_url, pull_from_url
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
        pull_from_url(f"{srv.url}/x.gguf", cache, insecure_no_checksum=True)
    assert cache.entries() == []


def test_http_error(tmp_path: Path) -> None:
    with FileServer({}) as srv, pytest.raises(DownloadError, match="HTTP 404"):
        pull_from_url(f"{srv.url}/missing.gguf", ModelCache(tmp_path), insecure_no_checksum=True)


def test_filename_from_url() -> None:
    assert filename_from_url("https://h/a/b/My%20Model.gguf?x=1") == "My Model.gguf"
    assert filename_from_url("https://h/") == "model.gguf"


def test_a_url_without_sha256_needs_insecure_no_checksum(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    with FileServer({"/tiny.gguf": GGUF}) as srv:
        with pytest.raises(ChecksumRequiredError, match="--insecure-no-checksum"):
            pull_from_url(f"{srv.url}/tiny.gguf", cache)
        assert srv.requests == []  # refused before any byte is fetched
        model = pull_from_url(f"{srv.url}/tiny.gguf", cache, insecure_no_checksum=True)
    assert model.sha256 == SHA


def test_content_length_over_max_size_is_refused_unread(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    with FileServer({"/tiny.gguf": GGUF}) as srv, pytest.raises(DownloadError, match="--max-size"):
        pull_from_url(f"{srv.url}/tiny.gguf", cache, sha256=SHA, max_size=len(GGUF) - 1)
    assert cache.find("tiny") is None
    assert not cache.partial_path("tiny", "tiny.gguf").exists()


def test_a_body_past_max_size_without_content_length_is_cut(tmp_path: Path) -> None:
    endless = b"x" * 1_000_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([endless] * 50))  # chunked: no Content-Length

    cache = ModelCache(tmp_path)
    with pytest.raises(DownloadError, match="more than 3000000 bytes"):
        pull_from_url(
            "https://models.example/big.gguf",
            cache,
            sha256=SHA,
            max_size=3_000_000,
            transport=httpx.MockTransport(handler),
        )
    assert not cache.partial_path("big", "big.gguf").exists()


def test_a_redirect_from_https_to_http_is_refused() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.scheme == "https" and request.url.path == "/m.gguf":
            return httpx.Response(302, headers={"Location": "http://mirror.example/m.gguf"})
        return httpx.Response(200, content=b"GGUF")

    client = download_client("https://models.example/m.gguf", httpx.MockTransport(handler))
    with client, pytest.raises(DownloadError, match="https to plain http"):
        client.get("https://models.example/m.gguf")
    assert seen == ["https://models.example/m.gguf"]  # the http URL was never requested
    with download_client("http://models.example/m.gguf", httpx.MockTransport(handler)) as client:
        assert client.get("http://models.example/m.gguf").status_code == 200  # plain http given: allowed
