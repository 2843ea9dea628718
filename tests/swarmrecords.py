"""In-process SwarmNodes on 127.0.0.1 that publish records for real node processes (until nodes do it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet.swarm.validation import RecordLimits
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields

HOST = "127.0.0.1"


def fast_config() -> SwarmConfig:
    return SwarmConfig(
        heartbeat_interval_s=1.0,
        limits=RecordLimits(max_ttl_s=10.0, clock_skew_s=1.0),
        rpc_timeout_s=0.5,
        backoff_initial_s=0.2,
        backoff_cap_s=1.0,
    )


class RecordSwarm:
    """A bootstrap SwarmNode plus one publishing SwarmNode per advertised node."""

    def __init__(self) -> None:
        self.seed: SwarmNode | None = None
        self.members: list[SwarmNode] = []

    @property
    def bootstrap(self) -> str:
        assert self.seed is not None
        return f"{HOST}:{self.seed.dht_port}"

    async def start(self) -> RecordSwarm:
        self.seed = SwarmNode(NodeIdentity.generate(), fast_config())
        await self.seed.start(HOST, 0)
        return self

    async def publish(
        self, url: str, model: str, name: str, identity: NodeIdentity | None = None, **fields: object
    ) -> SwarmNode:
        """Advertise the node at ``url`` (serving ``model``) with the given record fields.

        Give a real node's ``identity`` (``NodeProcess.identity()``): routers and clients use a record's
        URL only once it proved the record's key. A fresh key makes a record whose URL cannot prove it.
        """
        values: dict[str, object] = {"slots_total": 2, "slots_free": 2, "version": "test", **fields}
        record = RecordFields(urls=[url], models=[model], name=name, **values)  # type: ignore[arg-type]
        member = SwarmNode(identity or NodeIdentity.generate(), fast_config(), record_factory=lambda: record)
        await member.start(HOST, 0, [self.bootstrap])
        self.members.append(member)
        return member

    async def remove(self, member: SwarmNode) -> None:
        """Leave cleanly: the member's tombstones hide it at once."""
        await member.stop(withdraw=True)
        self.members.remove(member)

    async def stop(self) -> None:
        await asyncio.gather(*(m.stop(withdraw=False) for m in self.members))
        if self.seed is not None:
            await self.seed.stop(withdraw=False)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """``eventually`` for blocking checks: poll ``predicate`` until it holds, else fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
