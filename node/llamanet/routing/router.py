"""``RequestRouter``: decides whether this node serves a request or forwards it, and forwards it.

``decide`` returns a ``Decision`` (``ServeHere`` or ``Forward`` to candidates ordered by the selection
pipeline, within the request's allowed sites: ``sites``; at the entry node, a request with a long
enough prefix goes to the node its prefix hashes to, within a bounded load: ``prefix``); ``forward``
sends the request on (carrying those sites) and returns the ``Upstream`` answer, or None when every
candidate failed and this node serves the model itself. The API layer turns both into responses and
owns disconnects; this module knows no web framework.

No user credential ever leaves this node: ``/status`` probes and forwarded requests carry this node's
own signed proof (``signer``), and user traffic goes only to URLs that proved their record's key.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx

from llamanet.routing import candidates as planning
from llamanet.routing import prefix, selection
from llamanet.routing.address_proofs import AddressProofs
from llamanet.routing.bans import BanList
from llamanet.routing.capped import AnswerLimits, PeerAnswerError, get_small_json
from llamanet.routing.decision import Decision, Forward, ServeHere, serve_locally, target_model
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.errors import (
    EmbeddingsUnavailableError,
    HopLimitError,
    NoNodeForModelError,
    NoPeerAvailableError,
    ProbeFailedError,
    UnknownModelError,
)
from llamanet.routing.forwarder import Forwarder, Outgoing, Upstream
from llamanet.routing.prefix import PREFIX_OFF, Load, PrefixPolicy
from llamanet.routing.prefix_holdings import PrefixHoldings, holdings_capacity
from llamanet.routing.recent_models import RecentModels
from llamanet.routing.selection import Rules
from llamanet.routing.sites import EVERY_SITE, SitePolicy, not_allowed, prefer_site, request_policy
from llamanet.routing.view import NodeView
from llamanet_common.proofs import PROOF_PATH, ForwardSigner, ProofError
from llamanet_common.status import NodeStatus


class RequestRouter:
    def __init__(
        self,
        directory: SwarmDirectory,
        client: httpx.AsyncClient,
        local_model: str,
        local_slots_free: Callable[[], int | None],
        max_hops: int = 2,
        rng: random.Random | None = None,
        *,
        sites: SitePolicy = EVERY_SITE,
        own_site: str | None = None,
        site_margin: float = 0.0,
        signer: ForwardSigner | None = None,
        limits: AnswerLimits | None = None,
        prefix: PrefixPolicy = PREFIX_OFF,
        local_status: Callable[[], NodeStatus] | None = None,
        local_embeddings: bool = False,
        holdings: PrefixHoldings | None = None,
    ) -> None:
        self.directory = directory
        self.client = client
        self.local_model = local_model
        self.local_slots_free = local_slots_free  # None while the local model is loading
        self.max_hops = max_hops
        self.signer = signer
        self.bans = BanList(base_s=2.0)
        self.proofs = AddressProofs(self._fetch_proof)
        self.forwarder = Forwarder(client, self.bans, self.proofs, signer, limits)
        self.inflight: Counter[str] = Counter()
        self.rng = rng or random.Random()
        self.sites = sites  # --route-sites: requests may narrow it (``request_policy``), never widen it
        self.own_site = own_site
        self.site_margin = site_margin
        self.prefix = prefix  # --prefix-routing: requests sharing a prefix go to the same node
        self.local_status = local_status  # this node's load, for the prefix rule's bounded load
        # the chats served here lately (``/status`` publishes them): the record ``served`` keeps
        self.holdings = holdings if holdings is not None else PrefixHoldings(holdings_capacity(0))
        self.local_embeddings = local_embeddings  # --embeddings: this node serves embedding requests
        self.recent = RecentModels()  # models served lately: gone now means 503, not 404

    async def models(self) -> dict[str, list[str]]:
        """Every model in the swarm with the ids of the nodes serving it (this node included)."""
        out: dict[str, list[str]] = {self.local_model: [self.directory.self_id]}
        for view in await self.directory.views():
            for m in view.models:
                ids = out.setdefault(m, [])
                if view.node_id not in ids:
                    ids.append(view.node_id)
        self.recent.saw(out, time.monotonic())
        return out

    def request_sites(self, header: str | None) -> SitePolicy:
        """This node's site policy narrowed by a request's allowed-sites header (``BadSitesError``)."""
        return request_policy(self.sites, header)

    async def decide(
        self,
        requested: str | None,
        hops: int,
        *,
        sites: SitePolicy | None = None,
        prefix_key: str | None = None,
        boundaries: tuple[str, ...] = (),
        embeddings: bool = False,
    ) -> Decision:
        """Serve here, or forward to these candidates; raises when neither is possible.

        ``sites`` (default: this node's policy) bounds both: this node serves only if its own site is
        allowed, and forwards only to nodes at allowed sites (``SiteNotAllowedError`` when the model is
        served only elsewhere, even when this node's slots are full).

        ``prefix_key`` (``PrefixPolicy.key`` of the request's leading text): at the entry node (hops 0)
        with prefix routing on, the request goes to the node its prefix hashes to among the model's
        nodes, this one included, while that node is within the bounded load, even when this node has
        a free slot (``_prefix_decision``). A forwarded request is never placed by its prefix again.
        ``boundaries`` (a chat's ``prefix.boundary_keys``): among the nodes within the bound, the one
        that holds the most of the chat (its earlier turns) is preferred.

        ``embeddings``: an embedding request, served only by nodes started with ``--embeddings`` (their
        records' capability); they run beside the generation slots, so a free slot does not matter
        (``EmbeddingsUnavailableError`` when the model is served, but by no such node).
        """
        policy = sites or self.sites
        model = target_model(requested, self.local_model)
        mine = model == self.local_model and policy.admits(self.own_site)  # may be served here
        mine = mine and (self.local_embeddings or not embeddings)
        free = self.local_slots_free()
        here = ServeHere(model)
        key = prefix_key if self.prefix.enabled and hops == 0 and not embeddings else None
        if mine and free is not None and (free > 0 or embeddings) and key is None:
            return here  # fast path: no lookup when this node can start it right away
        if hops >= self.max_hops:
            if mine:
                return here
            raise HopLimitError(f"request for {model!r} was forwarded {hops} times; not forwarding again")
        serving = await self._serving(model)
        if embeddings:
            known = bool(serving) or model == self.local_model
            serving = [v for v in serving if v.serves_embeddings]
            if known and not serving and not mine:
                raise EmbeddingsUnavailableError(model, model == self.local_model)
        allowed = [v for v in serving if policy.admits_view(v)]
        if not allowed and not mine and (serving or model == self.local_model):
            here_site = [self.own_site] if model == self.local_model else []
            raise not_allowed(model, [*here_site, *(v.site for v in serving)], policy)
        now = time.monotonic()
        others = [v for v in allowed if not self.bans.is_banned(v.key, now)]
        if key is not None and others:
            me = self._local_load(boundaries) if mine and free is not None else None
            decided = await self._prefix_decision(key, boundaries, here, me, others, hops, policy)
            if decided is not None:
                return decided
        if serve_locally(
            model=model,
            local_model=self.local_model,
            local_ready=free is not None and mine,
            local_slots_free=free or 0,
            hops=hops,
            max_hops=self.max_hops,
            others=others,
        ):
            return here
        if not others:
            if mine:
                return here
            if allowed:
                raise NoNodeForModelError(f"every node serving {model!r} failed moments ago; retry shortly")
            listed = sorted(await self.models())
            ago = self.recent.seen_ago(model, now)
            if ago is not None:  # served lately: its nodes are unreachable now (a partition?), not gone
                raise NoNodeForModelError(f"no node serving {model!r} is reachable now (seen {ago:.0f}s ago)")
            raise UnknownModelError(model, listed)
        plan = await planning.plan(
            others,
            model,
            fetch=self._fetch_status,
            bans=self.bans,
            now=now,
            rng=self.rng,
            inflight=self.inflight,
            rules=Rules(residency=policy.admits_view, site=prefer_site(self.own_site, self.site_margin)),
        )
        if not plan.order:
            if mine:
                return here
            reasons = "; ".join(f"{v.node_id[:12]}: {why}" for v, why in plan.failures)
            raise NoNodeForModelError(f"no node serving {model!r} answered: {reasons}")
        # counted now, in the same step as the ordering, so requests decided together spread out
        self.inflight[plan.order[0].key] += 1
        return Forward(model, tuple(plan.order), hops, local_fallback=mine, sites=policy)

    async def forward(self, decision: Forward, outgoing: Outgoing) -> Upstream | None:
        """The answer of the first candidate that takes the request; None: serve it here after all.

        A ``Forward`` decision holds a reservation of its first candidate (``inflight``): pass every
        one to ``forward``, which releases it once the answer is complete.
        """
        reserved = decision.candidates[0].key
        outgoing = replace(outgoing, headers=decision.sites.forward_headers(outgoing.headers))
        try:
            upstream = await self.forwarder.forward(outgoing, decision.candidates)
        except BaseException as exc:
            self._release(reserved)
            if not isinstance(exc, NoPeerAvailableError):
                raise
            if decision.local_fallback:
                return None
            raise NoNodeForModelError(f"no node serving {decision.model!r} answered: {exc}") from exc
        return upstream.then(lambda: self._release(reserved))

    def served(self, boundaries: tuple[str, ...]) -> None:
        """A chat (``prefix.boundary_keys``) is served here: it is among the chats this node holds."""
        self.holdings.served(boundaries)

    def _local_load(self, boundaries: tuple[str, ...]) -> Load | None:
        if self.local_status is None:
            return None
        s = self.local_status()
        depth = prefix.held_depth(boundaries, self.holdings)
        return Load(self.directory.self_id, s.active_requests + s.queue_depth, s.slots_total, depth)

    async def _prefix_decision(
        self,
        key: str,
        boundaries: tuple[str, ...],
        here: ServeHere,
        me: Load | None,
        others: list[NodeView],
        hops: int,
        policy: SitePolicy,
    ) -> Decision | None:
        """Serve here or forward to the node ``prefix.choose`` picks: within the bounded load, the one
        holding the most of the chat, else the first in ``key``'s rendezvous order. The first other
        node in that order is probed, and the second too when another node may hold more of the chat
        than this one (``prefix.deeper_elsewhere``: it served the chat's earlier turn), so their fresh
        loads and holdings decide. None: no other node answered and this one cannot serve it; the load
        policy decides. ``me``: this node's load when it may serve the request."""
        e = self.prefix.load_bound
        views = {v.key: v for v in others}

        def pool() -> list[Load]:
            sent = self.inflight
            loads = [
                Load(
                    k,
                    v.active_requests + v.queue_depth + sent[k],
                    v.slots_total,
                    prefix.held_depth(boundaries, v.prefixes),
                )
                for k, v in views.items()
            ]
            return loads + ([me] if me is not None else [])

        ring = prefix.ranked(key, [p.key for p in pool()])
        sought = self.holdings.capacity > 0 and prefix.deeper_elsewhere(
            boundaries, me.depth if me is not None else 0
        )  # --prefix-holdings off here: the swarm is taken to publish none, one probe as before
        if me is not None and ring[0] == me.key and prefix.fits(me, pool(), e) and not sought:
            return here  # the prefix is this node's, its load within the bound, a slot free
        targets = [k for k in ring if k in views][: 2 if sought else 1]
        answers = await asyncio.gather(*(planning.probe(views[k], self._fetch_status) for k in targets))
        for target, fresh in zip(targets, answers, strict=True):
            if isinstance(fresh, NodeView):
                views[target] = fresh
            else:
                self.bans.fail(target, time.monotonic())
                del views[target]
        me = self._local_load(boundaries) if me is not None else None  # after the await: now
        pick = prefix.choose(key, pool(), e)
        if me is not None and pick in (me.key, None):
            return here
        if pick is None:
            return None
        rules = Rules(
            prefix=lambda v: 0.0 if v.key == pick else 1.0,
            site=prefer_site(self.own_site, self.site_margin),
        )
        order = selection.order(list(views.values()), {}, inflight=self.inflight, rules=rules)
        self.inflight[order[0].key] += 1  # in the same step as the choice, as ``decide`` does
        return Forward(here.model, tuple(order), hops, local_fallback=me is not None, sites=policy)

    def _release(self, key: str) -> None:
        self.inflight[key] -= 1
        if self.inflight[key] <= 0:
            del self.inflight[key]

    async def _serving(self, model: str) -> list[NodeView]:
        """Other nodes serving ``model``: its own DHT key, else the all-nodes set (a model key lookup
        can come back short for a moment while a peer that stored it leaves)."""
        found = [v for v in await self.directory.views(model) if model in v.models]
        if not found:
            found = [v for v in await self.directory.views() if model in v.models]
        if found:
            self.recent.saw([model], time.monotonic())
        return found

    async def _fetch_status(self, view: NodeView) -> object:
        """A peer's ``/status``, asked with this node's own proof (never a user's key)."""
        headers = self.signer.headers("GET", "/status", b"", view.node_id, 0) if self.signer else {}
        try:
            return await get_small_json(self.client, f"{view.url}/status", headers)
        except (httpx.HTTPError, PeerAnswerError, ValueError) as exc:
            raise ProbeFailedError(f"/status: {type(exc).__name__}") from exc

    async def _fetch_proof(self, url: str, challenge: str) -> Any:
        try:
            return await get_small_json(self.client, url + PROOF_PATH, {}, {"u": url, "c": challenge})
        except (httpx.HTTPError, PeerAnswerError, ValueError) as exc:
            raise ProofError(f"{url}: no address proof ({type(exc).__name__})") from exc
