"""Site policy (residency) and the own-site preference: pure logic, and the router's decisions with them."""

import random

import httpx
import pytest

from llamanet.routing import selection
from llamanet.routing.decision import Forward, ServeHere
from llamanet.routing.directory import SwarmDirectory
from llamanet.routing.forwarder import Outgoing
from llamanet.routing.router import RequestRouter
from llamanet.routing.sites import (
    ALLOWED_SITES_HEADER,
    EVERY_SITE,
    BadSitesError,
    SiteNotAllowedError,
    SitePolicy,
    parse_sites,
    prefer_site,
    request_policy,
)
from llamanet.routing.view import NodeView, view_from_url
from llamanet_common.record import NodeRecord
from tests.peerkeys import proof_answer
from tests.peerkeys import record as peer_record

SELF = "0" * 40


def node(key: str, site: str | None, **kw: object) -> NodeView:
    base: dict[str, object] = {"models": ("m",), "slots_total": 4, "slots_free": 4, "site": site}
    base.update(kw)
    return NodeView(url=f"http://{key}", node_id=key, **base)  # type: ignore[arg-type]


def test_parse_sites() -> None:
    assert parse_sites(None) is None and parse_sites("*") is None and parse_sites(" * ") is None
    assert parse_sites("site-a, site-b") == frozenset({"site-a", "site-b"})
    for bad in ("", " , ", "a,,b", "a,*", "x" * 65, "a\nb", ",".join(str(i) for i in range(33))):
        with pytest.raises(BadSitesError):
            parse_sites(bad)


def test_a_header_narrows_the_nodes_policy_and_never_widens_it() -> None:
    node_policy = SitePolicy(frozenset({"a", "b"}), "--route-sites")
    assert request_policy(node_policy, None) == node_policy
    assert request_policy(node_policy, "*") == node_policy  # '*' cannot widen
    assert request_policy(node_policy, "b,c").allowed == frozenset({"b"})  # c is not added
    assert request_policy(node_policy, "c").allowed == frozenset()  # nothing left
    assert request_policy(EVERY_SITE, "c").allowed == frozenset({"c"})
    assert request_policy(EVERY_SITE, None) is EVERY_SITE


def test_admits_unknown_sites_only_when_unrestricted_and_fixed_url_nodes_always() -> None:
    policy = SitePolicy(frozenset({"a"}))
    assert policy.admits("a") and not policy.admits("b") and not policy.admits(None)
    assert EVERY_SITE.admits(None) and EVERY_SITE.admits("b")
    assert policy.admits_view(view_from_url("http://fixed"))  # the node enforces the header itself
    assert not policy.admits_view(node("x", None))


def test_forward_headers_carry_the_effective_set_and_drop_a_stale_one() -> None:
    policy = SitePolicy(frozenset({"b", "a"}))
    assert policy.forward_headers({"X-LlamaNet-Allowed-Sites": "*", "k": "v"}) == {
        "k": "v",
        ALLOWED_SITES_HEADER: "a,b",
    }
    assert EVERY_SITE.forward_headers({ALLOWED_SITES_HEADER: "x", "k": "v"}) == {"k": "v"}


def test_own_site_goes_first_within_the_margin_and_not_beyond() -> None:
    rules = selection.Rules(site=prefer_site("home", 0.25))
    home = node("home", "home", slots_total=8, slots_free=7, active_requests=1)  # load 0.125
    away = node("away", "away")  # load 0

    def first(*views: NodeView) -> str:
        return selection.order(views, {}, rules=rules)[0].key

    assert first(away, home) == "home"
    assert first(away, node("home", "home", active_requests=1, slots_free=3)) == "away"  # 0.25: a tie
    assert first(node("home", "home", active_requests=2, slots_free=2), away) == "away"  # 0.5: beyond
    assert first(node("home", "home", active_requests=4, slots_free=0), away) == "away"  # no free slot
    assert prefer_site(None, 0.25)(home) == 0.0  # a node without a site prefers nothing


# --- the router -----------------------------------------------------------------------------------


def record(c: str, site: str | None, model: str = "m") -> NodeRecord:
    return peer_record(c, model, site=site)  # a key per peer: it proves its URL (``tests.peerkeys``)


class Peers:
    """Fake peers: every /status says idle; every request is recorded with its headers."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if (proof := proof_answer(request)) is not None:
            return proof
        if request.url.path == "/status":
            return httpx.Response(200, json={"status": "ready", "slots_total": 4, "slots_free": 4})
        self.sent.append(request)
        return httpx.Response(200, json={"ok": True})


def router(
    records: list[NodeRecord], peers: Peers, *, free: int | None = 0, sites: frozenset[str] | None = None
) -> RequestRouter:
    async def lookup(model: str | None) -> list[NodeRecord]:
        return [r for r in records if model is None or model in r.models]

    return RequestRouter(
        SwarmDirectory(lookup, SELF),
        httpx.AsyncClient(transport=httpx.MockTransport(peers)),
        local_model="local",
        local_slots_free=lambda: free,
        rng=random.Random(0),
        sites=SitePolicy(sites, "--route-sites"),
        own_site="b",
        site_margin=0.25,
    )


async def test_a_model_served_only_outside_the_allowed_sites_is_refused_naming_the_policy() -> None:
    peers = Peers()
    r = router([record("a", "site-a")], peers, sites=frozenset({"b"}))
    with pytest.raises(SiteNotAllowedError, match=r"served at site-a; allowed: b \(routing policy --route"):
        await r.decide("m", hops=0)
    assert peers.sent == []


async def test_full_local_slots_never_send_a_request_to_a_site_outside_the_policy() -> None:
    peers = Peers()
    r = router([record("a", "site-a", model="local")], peers, free=0, sites=frozenset({"b"}))
    assert await r.decide("local", hops=0) == ServeHere("local")  # queued here, not forwarded to a
    unrestricted = router([record("a", "site-a", model="local")], peers, free=0)
    assert isinstance(await unrestricted.decide("local", hops=0), Forward)


async def test_a_header_narrowing_away_this_nodes_site_stops_local_serving() -> None:
    peers = Peers()
    r = router([record("a", "site-a", model="local")], peers, free=2)
    only_a = r.request_sites("site-a")
    decision = await r.decide("local", hops=0, sites=only_a)
    assert isinstance(decision, Forward) and decision.candidates[0].site == "site-a"
    assert not decision.local_fallback
    with pytest.raises(SiteNotAllowedError, match="served at b, site-a; allowed: site-c"):
        await r.decide("local", hops=0, sites=r.request_sites("site-c"))


async def test_a_header_cannot_widen_the_nodes_policy() -> None:
    peers = Peers()
    r = router([record("a", "site-a")], peers, sites=frozenset({"b"}))
    with pytest.raises(SiteNotAllowedError, match="allowed: no site"):
        await r.decide("m", hops=0, sites=r.request_sites("site-a"))
    assert peers.sent == []


async def test_forwarded_requests_carry_the_effective_allowed_sites() -> None:
    peers = Peers()
    r = router([record("a", "site-a"), record("c", "site-c")], peers, sites=frozenset({"site-a", "b"}))
    decision = await r.decide("m", hops=0)
    assert isinstance(decision, Forward) and [v.site for v in decision.candidates] == ["site-a"]
    out = Outgoing("/v1/completions", b"{}", {ALLOWED_SITES_HEADER: "*"}, stream=False)
    upstream = await r.forward(decision, out)
    assert upstream is not None and upstream.status == 200
    assert [req.headers[ALLOWED_SITES_HEADER] for req in peers.sent] == ["b,site-a"]


async def test_the_own_site_is_preferred_when_loads_are_close() -> None:
    peers = Peers()
    r = router([record("a", "site-a"), record("c", "b")], peers)
    for _ in range(5):
        decision = await r.decide("m", hops=0)
        assert isinstance(decision, Forward) and decision.candidates[0].site == "b"
        r.inflight.clear()
