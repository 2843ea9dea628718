"""A node's ``/metrics`` answer read by the operator (pure): load, slots, the swarm as it sees it, and
its public key and certificate end (what the operator's swarm authority certifies and counts).

``/metrics`` is the one route a node serves without its API key, so the operator never needs to read
the LlamaNode's Secrets (and a pod cannot make it send them anywhere). Only the few LlamaNet series
below are kept; the text was already cut at the operator's size cap (``Kube.get_text``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from llamanet_common.identity import node_id_for_public_key

# name, optional model label, value (the only label the kept series carry)
_LINE = re.compile(r'^(llamanet_[a-z_]+)(?:\{model="((?:[^"\\]|\\.){1,256})"\})? ([-+0-9.eEinfaN]+)$')
_SCALARS = {
    "llamanet_queue_depth": "queue_depth",
    "llamanet_slots_busy": "slots_busy",
    "llamanet_slots_total": "slots_total",
    "llamanet_swarm_nodes": "swarm_nodes",
}
_INFO = re.compile(r'^llamanet_node_info\{node_id="([0-9a-f]{40})",public_key="([0-9a-f]{64})"\} 1(?:\.0)?$')
_CERT_END = "llamanet_swarm_cert_not_after "
MAX_MODELS = 64
MAX_TIME = 1e11  # unix s; anything larger is not a certificate's end


@dataclass(frozen=True)
class NodeSample:
    """One pod's answer."""

    queue_depth: int = 0
    slots_busy: int = 0
    slots_total: int = 0
    swarm_nodes: int | None = None  # None: the node reports no swarm (an older node)
    models: list[str] = field(default_factory=list)
    public_key: str | None = None  # hex; None: an older node, or one that reports no identity
    cert_not_after: int | None = None  # when the node's accepted chain ends; 0: none; None: not reported


def _count(value: str) -> int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0 or number > 1e9:
        return None
    return int(number)


def _time(value: str) -> int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and 0 <= number < MAX_TIME else None


def parse_metrics(text: str) -> NodeSample | None:
    """The sample in a Prometheus text exposition; None when it holds no LlamaNet slot gauge."""
    values: dict[str, int] = {}
    models: list[str] = []
    public_key: str | None = None
    cert_not_after: int | None = None
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if (info := _INFO.match(line)) is not None:
            node_id, key = info.groups()
            if public_key is None and node_id_for_public_key(bytes.fromhex(key)) == node_id:
                public_key = key  # the first consistent pair (the id is derived from the key)
            continue
        if line.startswith(_CERT_END):
            cert_not_after = _time(line.removeprefix(_CERT_END))
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        name, model, raw = match.groups()
        number = _count(raw)
        if number is None:
            continue
        if name == "llamanet_swarm_model_nodes" and model is not None:
            if number > 0 and len(models) < MAX_MODELS:
                models.append(model.replace('\\"', '"').replace("\\\\", "\\"))
        elif name in _SCALARS and model is None:
            values[_SCALARS[name]] = number
    if "slots_total" not in values:
        return None
    return NodeSample(
        queue_depth=values.get("queue_depth", 0),
        slots_busy=values.get("slots_busy", 0),
        slots_total=values["slots_total"],
        swarm_nodes=values.get("swarm_nodes"),
        models=sorted(set(models)),
        public_key=public_key,
        cert_not_after=cert_not_after,
    )
