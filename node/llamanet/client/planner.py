"""``Planner``: the order in which the client tries nodes, from discovery, bans and fresh ``/status`` probes.

The decisions are routing's (``routing.candidates.plan`` over the ``routing.selection`` pipeline, the
same the node's router uses); this module adds the client's last resort: nodes banned after recent
failures are tried after every other candidate, soonest unbanned first; with ``sites`` restricted
(``Client(allowed_sites=...)``), nodes at other sites are never planned; a request with a long prefix
goes first to the node it hashes to (``by_prefix``, the rule entry nodes apply). Bans are keyed by
``NodeView.key`` (a record's node id; a fixed-URL node's URL).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from llamanet.client.discovery import Discovery
from llamanet.client.errors import ClientError, NodeUnavailableError, NoNodeAvailableError
from llamanet.client.transport import Transport
from llamanet.routing import candidates, prefix, selection
from llamanet.routing.address_proofs import AddressProofs
from llamanet.routing.bans import BanList
from llamanet.routing.errors import ProbeFailedError
from llamanet.routing.prefix import PREFIX_OFF, PrefixPolicy
from llamanet.routing.sites import EVERY_SITE, SitePolicy, not_allowed
from llamanet.routing.view import NodeView
from llamanet_common.proofs import PROOF_PATH, ProofError


class Planner:
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
        sites: SitePolicy = EVERY_SITE,
        prefix: PrefixPolicy = PREFIX_OFF,
    ) -> None:
        self.discovery = discovery
        self.transport = transport
        self.bans = bans or BanList()
        self.probe = probe
        self.probe_timeout = probe_timeout
        self.rng = rng or random.Random()
        self.clock = clock
        self.sites = sites  # residency: nodes at other sites are never planned (``routing.sites``)
        self.prefix = prefix  # requests sharing a prefix go to the same node, as a node routes them
        self.proofs = AddressProofs(self._fetch_proof)

    async def _fetch_proof(self, url: str, challenge: str) -> Any:
        try:
            params = {"u": url, "c": challenge}
            return await self.transport.get_json(url, PROOF_PATH, timeout=self.probe_timeout, params=params)
        except ClientError as exc:
            raise ProofError(f"{url}: no address proof ({getattr(exc, 'reason', exc)})") from exc

    async def admit(self, node: NodeView) -> None:
        """Return once ``node`` may get requests and the API key; ``NodeUnavailableError`` otherwise."""
        try:
            await self.proofs.prove(node)
        except ProofError as exc:
            raise NodeUnavailableError(node.url, str(exc)) from exc

    async def _fetch_status(self, node: NodeView) -> Any:
        try:
            await self.admit(node)
            return await self.transport.get_json(
                node.url, "/status", timeout=self.probe_timeout, authorized=True
            )
        except ClientError as exc:
            raise ProbeFailedError(getattr(exc, "reason", str(exc))) from exc

    def chat_leading(self, messages: Iterable[Mapping[str, Any]]) -> str:
        """A chat's leading text, as the nodes read it (``routing.prefix.chat_text``)."""
        turns = ((str(m.get("role", "")), m.get("content")) for m in messages)
        return prefix.chat_text(turns, self.prefix.min_chars)

    async def plan(
        self, model: str | None, leading: str | None = None
    ) -> tuple[list[NodeView], list[tuple[str, str]]]:
        """Nodes to try, best first, and the ``(url, reason)`` of nodes dropped because a probe failed.

        ``leading``: the request's leading text; with a long enough prefix (``routing.prefix``) the node
        it hashes to goes first while its load is within the bound, as an entry node would choose."""
        nodes = await self.discovery.get_nodes(model)
        serving = [v for v in nodes if v.serves(model)]
        if serving and not any(self.sites.admits_view(v) for v in serving):
            reason = str(not_allowed(model or "any", (v.site for v in serving), self.sites))
            raise NoNodeAvailableError(reason)
        plan = await candidates.plan(
            nodes,
            model,
            fetch=self._fetch_status if self.probe else None,
            bans=self.bans,
            now=self.clock(),
            rng=self.rng,
            probe_alone=True,
            rules=selection.Rules(residency=self.sites.admits_view),
        )
        if not plan.order and not plan.banned and not plan.failures:
            what = f"serving model {model!r}" if model else "in the swarm"
            raise NoNodeAvailableError(f"no node found {what}")
        order = [
            *by_prefix(plan.order, self.prefix, leading),
            *selection.last_resort(plan.banned, self.bans.until),
        ]
        return order, [(v.url, why) for v, why in plan.failures]

    def failed(self, node: NodeView) -> None:
        self.bans.fail(node.key, self.clock())

    def succeeded(self, node: NodeView) -> None:
        self.bans.succeed(node.key)


def by_prefix(order: list[NodeView], policy: PrefixPolicy, leading: str | None) -> list[NodeView]:
    """``order`` with the node ``leading``'s prefix hashes to first (hashed by node id, as the nodes do),
    if within the bounded load (``prefix.choose``); unchanged without a prefix key."""
    key = policy.key(leading)
    if key is None or len(order) < 2:
        return order
    ids = {v.node_id or v.key: v for v in order}
    loads = [prefix.Load(k, v.active_requests + v.queue_depth, v.slots_total) for k, v in ids.items()]
    pick = prefix.choose(key, loads, policy.load_bound)
    return sorted(order, key=lambda v: (v.node_id or v.key) != pick)
