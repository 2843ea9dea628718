"""DHT key names (``node:{id}``, ``model:{name}``, ``all_nodes``) and which keys a record may live under."""

from __future__ import annotations

from llamanet.swarm.errors import KeyMismatchError
from llamanet_common.record import NodeRecord

ALL_NODES_KEY = "all_nodes"
NODE_PREFIX = "node:"
MODEL_PREFIX = "model:"
MAX_KEY_CHARS = 300


def node_key(node_id: str) -> str:
    return f"{NODE_PREFIX}{node_id}"


def model_key(model: str) -> str:
    return f"{MODEL_PREFIX}{model}"


def record_keys(record: NodeRecord) -> list[str]:
    """Every key a live record is published under."""
    return [node_key(record.node_id), ALL_NODES_KEY, *(model_key(m) for m in record.models)]


def check_key_fits(key: str, record: NodeRecord) -> None:
    """Raise ``KeyMismatchError`` unless ``record`` may be stored under ``key``.

    A node may only write its own ``node:`` key and the model keys it serves; withdraw
    records (tombstones) may go under any model key, since they can only hide their own node.
    """
    if len(key) > MAX_KEY_CHARS:
        raise KeyMismatchError("key too long")
    if key == ALL_NODES_KEY:
        return
    if key.startswith(NODE_PREFIX):
        if key[len(NODE_PREFIX) :] != record.node_id:
            raise KeyMismatchError(f"{key!r} does not belong to node {record.node_id}")
        return
    if key.startswith(MODEL_PREFIX):
        if record.withdrawn or key[len(MODEL_PREFIX) :] in record.models:
            return
        raise KeyMismatchError(f"node {record.node_id} does not serve {key!r}")
    raise KeyMismatchError(f"unknown key namespace {key!r}")
