"""The swarm seen from this node: ``/dht/status`` and ``/swarm/nodes``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from llamanet.api.errors import ApiError
from llamanet.api.node_state import node_of

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
    if node.router is None:
        raise ApiError(503, "this node has no DHT peer running", "service_unavailable", code="no_swarm")
    now = time.time()
    nodes = []
    records = {r.node_id: r for r in await node.router.directory.records(None)}
    own = node.swarm.last_record if node.swarm is not None else None
    if own is not None and own.is_live(now):
        records.setdefault(own.node_id, own)  # the DHT may not have handed back our own entry
    for record in records.values():
        item = record.model_dump(mode="json", exclude=_HIDDEN)
        item["expires_in"] = round(record.expires_at - now, 1)
        item["is_self"] = record.node_id == node.node_id
        nodes.append(item)
    nodes.sort(key=lambda n: (not n["is_self"], n["node_id"]))
    return {"self": node.node_id, "nodes": nodes, "models": await node.models()}
