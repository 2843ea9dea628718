"""``NodeStatus``: a node's ``GET /status`` answer, one model for the node that writes it and for the
router, the client and the operator that read it from peers they do not trust.

Every field is bounded and strictly typed (``"3"`` is not a count, ``true`` is not a number); a ready
node has at least one slot and no more free slots than slots. ``parse_status`` turns anything else into
``BadStatusError``, which readers treat as a failed peer, never as a crash of their own.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    computed_field,
    model_validator,
)

from llamanet_common.errors import FormatError

MAX_SLOTS = 4096
MAX_COUNT = 10**9
MAX_TEXT = 256
MAX_PREFIXES = 512  # chats a node says it holds (``prefixes``): about 10 KB of a /status answer
PrefixKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]

Readiness = Literal["ready", "loading"]


class BadStatusError(FormatError):
    """A ``/status`` answer that is not a valid ``NodeStatus``."""


def slot_load(active: int, queued: int, slots_total: int) -> float:
    """The one definition of load: requests running or waiting per slot (0 idle, 1 full, >1 queueing).

    An unknown slot count (0) counts as one slot, so an idle node of unknown size has load 0.
    """
    return (active + queued) / max(1, slots_total)


class NodeStatus(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    node_id: str = Field("", max_length=MAX_TEXT)
    model: str = Field("", max_length=MAX_TEXT)
    status: Readiness = "ready"
    queue_depth: int = Field(0, ge=0, le=MAX_COUNT)
    active_requests: int = Field(0, ge=0, le=MAX_SLOTS)
    slots_total: int = Field(0, ge=0, le=MAX_SLOTS)
    slots_free: int = Field(0, ge=0, le=MAX_SLOTS)
    tokens_per_second: float = Field(0.0, ge=0.0, le=1e7, allow_inf_nan=False)
    tokens_generated: int = Field(0, ge=0, le=10**18)
    requests_completed: int = Field(0, ge=0, le=10**18)
    uptime: float = Field(0.0, ge=0.0, le=1e10, allow_inf_nan=False)
    version: str = Field("", max_length=64)
    # the boundary keys of the chats it served lately (``routing.prefix_holdings``), most recent first:
    # a claim, used only as a preference among nodes within the prefix rule's bounded load
    prefixes: list[PrefixKey] = Field(default_factory=list, max_length=MAX_PREFIXES)

    @model_validator(mode="after")
    def _consistent(self) -> NodeStatus:
        if self.status == "ready" and self.slots_total < 1:
            raise ValueError("a ready node has at least one slot")
        if self.slots_free > self.slots_total:
            raise ValueError("more free slots than slots")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def load(self) -> float:
        """Written for readers of ``/status``; never read from a peer (it is derived)."""
        return slot_load(self.active_requests, self.queue_depth, self.slots_total)

    @property
    def ready(self) -> bool:
        return self.status == "ready"


def parse_status(data: Any) -> NodeStatus:
    """A peer's decoded ``/status`` JSON as a ``NodeStatus``; ``BadStatusError`` if it is not one."""
    if not isinstance(data, dict):
        raise BadStatusError(f"/status answered {type(data).__name__}, not an object")
    try:
        return NodeStatus.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "status"
        raise BadStatusError(f"bad /status answer: {where}: {first.get('msg', 'invalid')}") from exc
