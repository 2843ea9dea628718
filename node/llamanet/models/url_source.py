"""Any GGUF from a URL: resumable download with a progress bar, sha256 and GGUF checks."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from llamanet.models.cache import CachedModel, ModelCache
from llamanet.models.errors import ChecksumMismatchError, DownloadError, InvalidGGUFError
from llamanet.models.gguf import read_gguf
from llamanet.models.hashing import sha256_file
from llamanet.models.progress import Progress


def filename_from_url(url: str) -> str:
    name = Path(unquote(urlparse(url).path)).name
    return name if name else "model.gguf"


def _download(url: str, partial: Path, client: httpx.Client) -> None:
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
            total = offset + int(length) if length is not None else None
            progress = Progress(f"downloading {partial.name.split('--', 1)[-1]}", total)
            progress.done = offset
            with partial.open("ab" if offset else "wb") as out:
                for chunk in resp.iter_bytes():
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
    url: str, cache: ModelCache, name: str | None = None, sha256: str | None = None
) -> CachedModel:
    """Download ``url`` into ``cache`` (resuming a previous partial download) and verify it."""
    filename = filename_from_url(url)
    name = name or filename.removesuffix(".gguf")
    cached = cache.find(name)
    if cached is not None and sha256 is not None and cached.sha256 == sha256.lower():
        print(f"{name}: already cached at {cached.path}", file=sys.stderr)
        return cached
    partial = cache.partial_path(name, filename)
    with httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30.0, read=120.0)) as client:
        _download(url, partial, client)
    digest = sha256_file(partial).hexdigest()
    if sha256 is None:
        print(f"warning: no --sha256 given; the file's sha256 is {digest}", file=sys.stderr)
    elif digest != sha256.lower():
        partial.unlink(missing_ok=True)
        raise ChecksumMismatchError(f"{url}: sha256 {digest} does not match the expected {sha256.lower()}")
    try:
        read_gguf(partial)
    except InvalidGGUFError:
        partial.unlink(missing_ok=True)
        raise
    return cache.install(name, filename, partial, digest, url)
