"""``Router``: turns discovery, bans and fresh ``/status`` probes into the order in which to try nodes.

The decisions are ``selection``'s pure functions; this module only does the probing and bookkeeping.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from llamanet.client import selection
from llamanet.client.discovery import Discovery
from llamanet.client.errors import ClientError, NodeUnavailableError, NoNodeAvailableError
from llamanet.client.nodes import NodeInfo
from llamanet.client.transport import Transport
from llamanet.routing.bans import BanList


class Router:
    def __init__(
        self,
        discovery: Discovery,
        transport: Transport,
        bans: BanList | None = None,
        *,
        probe: bool = True,
        probe_timeout: float = 3.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.discovery = discovery
        self.transport = transport
        self.bans = bans or BanList()
        self.probe = probe
        self.probe_timeout = probe_timeout
        self.rng = rng or random.Random()
        self.clock = clock

    async def _probe(self, node: NodeInfo) -> NodeInfo | str:
        try:
            status = await self.transport.get_json(node.url, "/status", timeout=self.probe_timeout)
        except NodeUnavailableError as exc:
            return exc.reason
        except ClientError as exc:
            return str(exc)
        if not isinstance(status, dict):
            return "bad /status answer"
        fresh = node.with_status(status)
        return fresh if fresh.ready else f"not ready ({status.get('status')})"

    async def plan(self, model: str | None) -> tuple[list[NodeInfo], list[tuple[str, str]]]:
        """Nodes to try, best first, and the ``(url, reason)`` of nodes dropped because a probe failed."""
        nodes = await self.discovery.get_nodes(model)
        now = self.clock()
        usable, banned = selection.split_banned(nodes, model, lambda url: self.bans.is_banned(url, now))
        self.rng.shuffle(usable)  # spread ties
        if not usable and not banned:
            what = f"serving model {model!r}" if model else "in the swarm"
            raise NoNodeAvailableError(f"no node found {what}")
        probed: dict[str, NodeInfo] = {}
        failures: list[tuple[str, str]] = []
        if self.probe and usable:
            targets = selection.probe_targets(usable, self.rng)
            results = await asyncio.gather(*(self._probe(n) for n in targets))
            for node, result in zip(targets, results, strict=True):
                if isinstance(result, NodeInfo):
                    probed[node.url] = result
                else:
                    self.failed(node.url)
                    failures.append((node.url, result))
        order = selection.order(
            usable, probed, (url for url, _ in failures), banned, ban_until=self.bans.until
        )
        return order, failures

    def failed(self, url: str) -> None:
        self.bans.fail(url, self.clock())

    def succeeded(self, url: str) -> None:
        self.bans.succeed(url)
