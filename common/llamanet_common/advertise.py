"""A pod's own external address, as the operator publishes it and the node reads it (``ADVERTISE_FILE``).

The operator observes one Service per pod (its NodePorts, or its load balancer's address once assigned)
and writes one of these per pod name into a ConfigMap the pods mount; a node re-reads its file at each
heartbeat and republishes its record with the new DHT address and URLs when the content changes.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llamanet_common.errors import LlamaNetError

_MAX_BYTES = 4096


class AdvertiseFileError(LlamaNetError):
    """An advertise file that is not one ``Advertised`` document."""


class DhtAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)


class Advertised(BaseModel):
    """``{"dht": {"host", "port"}, "urls": ["http://host:port"]}``: the record's ``dht`` and ``urls``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dht: DhtAddress
    urls: list[str] = Field(min_length=1, max_length=4)

    @field_validator("urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")) or len(url) > 512:
                raise ValueError(f"{url!r} is not an http(s) URL")
        return [u.rstrip("/") for u in urls]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def parse_advertised(text: str) -> Advertised:
    """The document in ``text``; ``AdvertiseFileError`` says what is wrong with it."""
    if len(text.encode()) > _MAX_BYTES:
        raise AdvertiseFileError(f"advertise file larger than {_MAX_BYTES} bytes")
    try:
        return Advertised.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise AdvertiseFileError(f"advertise file: {where}: {first['msg']}") from exc


def format_url(host: str, port: int, scheme: str = "http") -> str:
    """``http://host:port``, with an IPv6 host in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"
