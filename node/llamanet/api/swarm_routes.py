"""The swarm seen from this node: ``/dht/status`` and ``/swarm/nodes``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from llamanet.api.dependencies import node_of
from llamanet.api.errors import ApiError

router = APIRouter()
_HIDDEN = {"public_key", "signature", "withdrawn", "seq"}


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
