"""A node's ``/metrics`` answer read by the operator (pure): load, slots and the swarm as it sees it.

``/metrics`` is the one route a node serves without its API key, so the operator never needs to read
the LlamaNode's Secrets (and a pod cannot make it send them anywhere). Only the few LlamaNet series
below are kept; the text was already cut at the operator's size cap (``Kube.get_text``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

# name, optional model label, value (the only label the kept series carry)
_LINE = re.compile(r'^(llamanet_[a-z_]+)(?:\{model="((?:[^"\\]|\\.){1,256})"\})? ([-+0-9.eEinfaN]+)$')
_SCALARS = {
    "llamanet_queue_depth": "queue_depth",
    "llamanet_slots_busy": "slots_busy",
    "llamanet_slots_total": "slots_total",
    "llamanet_swarm_nodes": "swarm_nodes",
}
MAX_MODELS = 64


@dataclass(frozen=True)
class NodeSample:
    """One pod's answer."""

    queue_depth: int = 0
    slots_busy: int = 0
    slots_total: int = 0
    swarm_nodes: int | None = None  # None: the node reports no swarm (an older node)
    models: list[str] = field(default_factory=list)


def _count(value: str) -> int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0 or number > 1e9:
        return None
    return int(number)


def parse_metrics(text: str) -> NodeSample | None:
    """The sample in a Prometheus text exposition; None when it holds no LlamaNet slot gauge."""
    values: dict[str, int] = {}
    models: list[str] = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
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
    )
