"""The signed node record stored in the DHT: its fields, canonical JSON encoding, and signing."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from llamanet_common.identity import NodeIdentity
from llamanet_common.urls import url_problem

_SHORT = 256
EMBEDDINGS = "embeddings"  # the capability of a node started with --embeddings
Capability = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
_LEFT_OUT_WHEN_EMPTY = ("capabilities", "cert")  # newer fields, absent from the JSON while empty


class RecordFields(BaseModel):
    """What a node reports about itself each heartbeat (the swarm layer adds identity and timing)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    urls: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    context_size: int = Field(default=0, ge=0)
    queue_depth: int = Field(default=0, ge=0)
    active_requests: int = Field(default=0, ge=0)
    slots_total: int = Field(default=0, ge=0)
    slots_free: int = Field(default=0, ge=0)
    tokens_per_s: float = Field(default=0.0, ge=0)
    uptime_s: float = Field(default=0.0, ge=0)
    version: str = Field(default="", max_length=64)
    gpu_layers: int = Field(default=0, ge=-1)
    site: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=64)  # human-readable label (the seed's NODE_ID)
    # the node key's membership certificate chain, leaf first (``llamanet_common.certs``); left out of
    # the JSON when None, so records without one read (and verify) as they did before the field existed
    cert: list[dict[str, Any]] | None = Field(default=None, max_length=4)
    # what the node serves beyond generation: "embeddings" (``--embeddings``); left out of the signed and
    # stored JSON while empty, so a node without any writes the records older nodes read
    capabilities: list[Capability] = Field(default_factory=list, max_length=16)

    @field_validator("urls")
    @classmethod
    def _peer_urls(cls, urls: list[str]) -> list[str]:
        """http(s), host and port only; never link-local or a metadata service (``urls.url_problem``)."""
        for url in urls:
            problem = url_problem(url) if len(url) <= _SHORT else "URL too long"
            if problem is not None:
                raise ValueError(problem)
        return urls


RECORD_FORMAT: Literal[2] = 2  # docs/design/formats-v2.md; other formats are named, never guessed


class NodeRecord(RecordFields):
    """A node's signed, expiring advertisement. ``withdrawn`` marks a tombstone left on clean shutdown."""

    format: Literal[2] = RECORD_FORMAT
    node_id: str = Field(pattern=r"^[0-9a-f]{40}$")
    dht_host: str = Field(max_length=_SHORT)
    dht_port: int = Field(ge=1, le=65535)
    seq: int = Field(ge=0)
    expires_at: float
    withdrawn: bool = False
    public_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: str = Field(default="", max_length=128)

    def canonical_bytes(self) -> bytes:
        """The bytes that are signed: sorted-key compact JSON of every field but ``signature``."""
        return canonical_json(self._dump(exclude={"signature"}))

    def to_json(self) -> str:
        return json.dumps(self._dump(), sort_keys=True, separators=(",", ":"))

    def _dump(self, exclude: set[str] | None = None) -> dict[str, Any]:
        """The JSON fields; empty newer ones (``capabilities``, ``cert``) are left out, as before them."""
        data = self.model_dump(mode="json", exclude=exclude)
        for name in _LEFT_OUT_WHEN_EMPTY:
            if not data.get(name):
                data.pop(name, None)
        return data

    def is_live(self, now: float) -> bool:
        return not self.withdrawn and self.expires_at > now


def canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


def build_record(
    fields: RecordFields,
    identity: NodeIdentity,
    *,
    dht_host: str,
    dht_port: int,
    seq: int,
    expires_at: float,
    withdrawn: bool = False,
) -> NodeRecord:
    """Assemble and sign a record for ``identity``."""
    unsigned = NodeRecord(
        **fields.model_dump(),
        node_id=identity.node_id,
        dht_host=dht_host,
        dht_port=dht_port,
        seq=seq,
        expires_at=expires_at,
        withdrawn=withdrawn,
        public_key=identity.public_key_hex,
    )
    return sign_record(unsigned, identity)


def sign_record(record: NodeRecord, identity: NodeIdentity) -> NodeRecord:
    return record.model_copy(update={"signature": identity.sign(record.canonical_bytes())})
