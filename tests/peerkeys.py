"""Peers with real keys for unit tests: records signed by a key per letter, and the proof of address
(``GET /swarm/proof``) those peers answer, so routing's ``AddressProofs`` admits them."""

from __future__ import annotations

import functools
from typing import Any

import httpx

from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import PROOF_PATH, sign_address
from llamanet_common.record import NodeRecord


@functools.cache
def key(c: str) -> NodeIdentity:
    """The key of peer ``c`` (reached at ``http://c``)."""
    return NodeIdentity.generate()


def node_id(c: str) -> str:
    return key(c).node_id


def record(c: str, model: str = "m", **fields: Any) -> NodeRecord:
    """A record of peer ``c`` at ``http://c`` (not signed: readers here do not check signatures)."""
    values: dict[str, Any] = {"urls": [f"http://{c}"], "models": [model], "slots_total": 4, "slots_free": 4}
    return NodeRecord(
        node_id=node_id(c), dht_host="h", dht_port=1, seq=1, expires_at=1e12,
        public_key=key(c).public_key_hex, **{**values, **fields},
    )  # fmt: skip


def proof_answer(request: httpx.Request) -> httpx.Response | None:
    """The peer's answer to a proof challenge, or None for any other request."""
    if request.url.path != PROOF_PATH:
        return None
    return httpx.Response(
        200, json=proof_json(request.url.host, request.url.params["u"], request.url.params["c"])
    )


def proof_json(host: str, url: str, challenge: str) -> dict[str, str]:
    return sign_address(key(host), url, challenge)
