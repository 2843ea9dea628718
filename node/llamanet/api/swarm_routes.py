"""The swarm seen from this node: ``/dht/status`` and ``/swarm/nodes``; ``/swarm/proof``, this node's
proof of address (open, like ``/health``: peers and clients ask it before they trust a record's URL)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from llamanet import membership
from llamanet.api.dependencies import node_of
from llamanet.api.errors import ApiError
from llamanet_common.proofs import PROOF_PATH, sign_address

router = APIRouter()
_HIDDEN = {"public_key", "signature", "withdrawn", "seq", "cert"}


@router.get("/dht/status")
async def dht_status(request: Request) -> dict[str, Any]:
    node = node_of(request)
    if node.swarm is None:
        raise ApiError(503, "this node has no DHT peer running", "service_unavailable", code="no_swarm")
    return node.swarm.status()


@router.get("/swarm/nodes")
async def swarm_nodes(request: Request) -> dict[str, Any]:
    """Every live node record in the swarm (this node's included) and which nodes serve which model."""
    node = node_of(request)
    records = await node.swarm_records()
    if records is None:
        raise ApiError(503, "this node has no DHT peer running", "service_unavailable", code="no_swarm")
    now = time.time()
    nodes = []
    for record in records:
        item = record.model_dump(mode="json", exclude=_HIDDEN)
        item["expires_in"] = round(record.expires_at - now, 1)
        item["is_self"] = record.node_id == node.node_id
        nodes.append(item)
    nodes.sort(key=lambda n: (not n["is_self"], n["node_id"]))
    return {"self": node.node_id, "nodes": nodes, "models": await node.models()}


@router.get(PROOF_PATH)
async def address_proof(request: Request, u: str = "", c: str = "") -> dict[str, str]:
    """Sign challenge ``c`` for ``u``, one of this node's advertised URLs, with the node's key."""
    node = node_of(request)
    if node.identity is None:
        raise ApiError(503, "this node has no identity key yet", "service_unavailable", code="no_identity")
    if not 16 <= len(c) <= 128 or any(ch not in "0123456789abcdef" for ch in c):
        raise ApiError(400, "c must be 16-128 lowercase hex characters", param="c", code="bad_challenge")
    # the URLs of the record this node publishes now (they follow ADVERTISE_FILE), else the settings'
    record = node.swarm.last_record if node.swarm is not None else None
    urls = record.urls if record is not None else membership.advertised_urls(node.settings)
    if u not in urls:
        raise ApiError(404, "u is not a URL this node advertises", param="u", code="unknown_url")
    return sign_address(node.identity, u, c)
