"""Any GGUF from a URL: resumable download with a progress bar, sha256 and GGUF checks.

A URL is untrusted: a redirect from https to http is refused (the bytes could then be swapped on the
way), the download stops at ``max_size`` bytes (a ``Content-Length`` over it is refused before a byte is
read), and without an expected sha256 the pull is refused unless ``insecure_no_checksum`` says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from llamanet.models.cache import CachedModel, ModelCache
from llamanet.models.errors import (
    ChecksumMismatchError,
    ChecksumRequiredError,
    DownloadError,
    InvalidGGUFError,
)
from llamanet.models.gguf import read_gguf
from llamanet.models.hashing import sha256_file
from llamanet.models.progress import Progress


def filename_from_url(url: str) -> str:
    name = Path(unquote(urlparse(url).path)).name
    return name if name else "model.gguf"


DEFAULT_MAX_SIZE = 64 * 1024**3  # 64 GiB: larger than any GGUF a node here could load


def refuse_downgrade(url: str) -> Callable[[httpx.Request], None]:
    """An httpx request hook: once the chain of redirects from ``url`` is on https, never plain http."""
    secure = [url.startswith("https://")]

    def hook(request: httpx.Request) -> None:
        if request.url.scheme == "https":
            secure[0] = True
        elif secure[0]:
            raise DownloadError(f"{url}: refused a redirect from https to plain http ({request.url.host})")

    return hook


def download_client(url: str, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(
        follow_redirects=True,
        timeout=httpx.Timeout(30.0, read=120.0),
        event_hooks={"request": [refuse_downgrade(url)]},
        transport=transport,
    )


def _download(url: str, partial: Path, client: httpx.Client, max_size: int) -> None:
    offset = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 416 and offset:
                return  # the partial file already holds every byte
            if resp.status_code == 200:
                offset = 0  # the server ignored the range: start over
            elif resp.status_code != 206:
                raise DownloadError(f"GET {url}: HTTP {resp.status_code}")
            length = resp.headers.get("content-length")
            total = offset + int(length) if length is not None and length.isdigit() else None
            if total is not None and total > max_size:
                raise DownloadError(f"GET {url}: {total} bytes, over the limit of {max_size} (--max-size)")
            progress = Progress(f"downloading {partial.name.split('--', 1)[-1]}", total)
            progress.done = offset
            written = offset
            with partial.open("ab" if offset else "wb") as out:
                for chunk in resp.iter_bytes():
                    written += len(chunk)
                    if written > max_size or (total is not None and written > total):
                        out.close()
                        partial.unlink(missing_ok=True)
                        raise DownloadError(
                            f"GET {url}: more than {min(max_size, total or max_size)} bytes "
                            "(--max-size, or the announced Content-Length); download removed"
                        )
                    out.write(chunk)
                    progress.advance(len(chunk))
            progress.close()
    except httpx.HTTPError as exc:
        raise DownloadError(f"GET {url} failed: {exc}; run the same pull again to resume") from exc
    if total is not None and partial.stat().st_size != total:
        raise DownloadError(
            f"GET {url}: connection closed after {partial.stat().st_size} of {total} bytes; "
            "run the same pull again to resume"
        )


def pull_from_url(
    url: str,
    cache: ModelCache,
    name: str | None = None,
    sha256: str | None = None,
    *,
    insecure_no_checksum: bool = False,
    max_size: int = DEFAULT_MAX_SIZE,
    transport: httpx.BaseTransport | None = None,
) -> CachedModel:
    """Download ``url`` into ``cache`` (resuming a previous partial download) and verify it."""
    if sha256 is None and not insecure_no_checksum:
        raise ChecksumRequiredError(
            f"{url}: give the file's expected --sha256, or --insecure-no-checksum to install it unverified"
        )
    filename = filename_from_url(url)
    name = name or filename.removesuffix(".gguf")
    cached = cache.find(name)
    if cached is not None and sha256 is not None and cached.sha256 == sha256.lower():
        print(f"{name}: already cached at {cached.path}", file=sys.stderr)
        return cached
    partial = cache.partial_path(name, filename)
    with download_client(url, transport) as client:
        _download(url, partial, client, max_size)
    digest = sha256_file(partial).hexdigest()
    if sha256 is None:
        print(
            f"warning: --insecure-no-checksum: installed unverified; its sha256 is {digest}", file=sys.stderr
        )
    elif digest != sha256.lower():
        partial.unlink(missing_ok=True)
        raise ChecksumMismatchError(f"{url}: sha256 {digest} does not match the expected {sha256.lower()}")
    try:
        read_gguf(partial)
    except InvalidGGUFError:
        partial.unlink(missing_ok=True)
        raise
    return cache.install(name, filename, partial, digest, url)
