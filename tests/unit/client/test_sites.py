"""The client's allowed sites: discovered nodes elsewhere are never planned; the set goes with requests."""

import random
from dataclasses import replace

import pytest

from llamanet.client.client import Client, client_sites
from llamanet.client.errors import ClientError, NoNodeAvailableError
from llamanet.client.planner import Planner
from llamanet.routing.sites import ALLOWED_SITES_HEADER
from llamanet.routing.view import view_from_url
from tests.unit.client.test_planner import GOOD, Answers, Listed, node


def planner(nodes: list, allowed: str | None) -> Planner:  # type: ignore[type-arg]
    answers = {n.url: GOOD for n in nodes}
    return Planner(
        Listed(nodes),
        Answers(answers),  # type: ignore[arg-type]
        rng=random.Random(0),
        clock=lambda: 100.0,
        sites=client_sites(allowed),
    )


async def test_nodes_at_other_sites_are_never_planned() -> None:
    a, b, c = replace(node("a"), site="site-a"), replace(node("b"), site="site-b"), node("c")  # c: no site
    order, _ = await planner([a, b, c], "site-b").plan("m")
    assert [n.url for n in order] == ["http://b"]
    everything, _ = await planner([a, b, c], None).plan("m")
    assert {n.url for n in everything} == {"http://a", "http://b", "http://c"}


async def test_a_model_served_only_elsewhere_is_refused_naming_the_policy() -> None:
    a = replace(node("a"), site="site-a")
    with pytest.raises(
        NoNodeAvailableError, match=r"served at site-a; allowed: site-b \(routing policy Client"
    ):
        await planner([a], "site-b").plan("m")


async def test_fixed_url_nodes_are_planned_and_enforce_the_header_themselves() -> None:
    order, _ = await planner([view_from_url("http://fixed:1")], "site-b").plan(None)
    assert [n.url for n in order] == ["http://fixed:1"]


async def test_the_client_sends_its_allowed_sites_with_every_request() -> None:
    client = Client(nodes=["http://x:1"], allowed_sites=["site-b", "site-a"])
    try:
        assert client._transport._http.headers[ALLOWED_SITES_HEADER] == "site-a,site-b"
    finally:
        await client.close()
    unrestricted = Client(nodes=["http://x:1"])
    try:
        assert ALLOWED_SITES_HEADER not in unrestricted._transport._http.headers
    finally:
        await unrestricted.close()


def test_bad_site_lists_are_a_client_error() -> None:
    for bad in ("", "a,,b", ["a", ""]):
        with pytest.raises(ClientError):
            client_sites(bad)
