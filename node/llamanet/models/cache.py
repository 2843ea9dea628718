"""The on-disk model cache.

Layout: ``<models_dir>/<name>/<file>.gguf`` plus ``<models_dir>/<name>/manifest.json``; downloads in
progress live in ``<models_dir>/.partial/``. A model counts as cached only when its manifest exists
and the file has the recorded size. The manifest is written last and atomically, after the sha256
was verified, so an interrupted or corrupt download never looks valid.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from llamanet.models.errors import ModelNotFoundError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class CachedModel:
    name: str
    filename: str
    sha256: str
    size: int
    source: str
    path: Path


class ModelCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def partial_dir(self) -> Path:
        return self.root / ".partial"

    def partial_path(self, name: str, filename: str) -> Path:
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        return self.partial_dir / f"{name}--{filename}.part"

    def find(self, name: str) -> CachedModel | None:
        manifest = self.root / name / MANIFEST
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            model = CachedModel(
                name=data["name"],
                filename=data["filename"],
                sha256=data["sha256"],
                size=int(data["size"]),
                source=data["source"],
                path=self.root / name / data["filename"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not model.path.is_file() or model.path.stat().st_size != model.size:
            return None
        return model

    def entries(self) -> list[CachedModel]:
        if not self.root.is_dir():
            return []
        found = (self.find(d.name) for d in sorted(self.root.iterdir()) if d.is_dir())
        return [m for m in found if m is not None]

    def install(self, name: str, filename: str, partial: Path, sha256: str, source: str) -> CachedModel:
        """Move a verified download into place, then commit it by writing its manifest."""
        target_dir = self.root / name
        target_dir.mkdir(parents=True, exist_ok=True)
        stale = target_dir / MANIFEST
        stale.unlink(missing_ok=True)
        path = target_dir / filename
        size = partial.stat().st_size
        os.replace(partial, path)
        model = CachedModel(name, filename, sha256, size, source, path)
        record = {k: v for k, v in asdict(model).items() if k != "path"}
        tmp = target_dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, stale)
        return model

    def resolve(self, name_or_path: str | Path) -> tuple[Path, str]:
        """A local file path, or the name of a cached model, to ``(path, served name)``."""
        path = Path(name_or_path).expanduser()
        if path.is_file():
            for model in self.entries():
                if model.path.resolve() == path.resolve():
                    return path, model.name
            return path, path.name.removesuffix(".gguf")
        cached = self.find(str(name_or_path))
        if cached is not None:
            return cached.path, cached.name
        raise ModelNotFoundError(
            f"model not found: {name_or_path} (neither a file nor a cached model; "
            f"try `llamanet models pull {name_or_path}` or give a path to a .gguf file)"
        )
