"""The operator's swarm authority (``authority``) and the pods' certificates (``certificates``): what is
issued, kept, renewed and dropped, every issued chain checked as a peer checks it (``verify_chain``
against the roots the pods trust)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from llamanet_common.certs import ANY, issue_certificate, parse_chain, verify_chain
from llamanet_common.errors import CertError
from llamanet_common.identity import NodeIdentity
from llamanet_operator.authority import (
    Authority,
    authority_problem,
    pod_roots,
    pod_scope,
    read_authority,
    scope_problem,
)
from llamanet_operator.certificates import Wanted, certified, plan_certificates
from llamanet_operator.errors import AuthorityError
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import parse_spec
from tests.unit.operator.conftest import url_spec

NOW = 1_800_000_000.0
DAY = 86400
ROOT = NodeIdentity.generate()
SITE = NodeIdentity.generate()
PODS = {f"smollm-{i}": NodeIdentity.generate() for i in range(3)}


def delegation(
    days: float = 30, models: tuple[str, ...] = ("smollm2-135m", "gemma"), sites: tuple[str, ...] = ("a",)
) -> list[dict[str, Any]]:
    cert = issue_certificate(
        ROOT,
        subject=SITE.public_key_hex,
        role="authority",
        models=models,
        sites=sites,
        not_before=int(NOW) - DAY,
        not_after=int(NOW + days * DAY),
    )
    return [cert]


def site_authority(**kw: Any) -> Authority:
    return Authority(SITE, delegation(**kw), frozenset({ROOT.public_key_hex}))


def wanted(authority: Authority | None = None, site: str = "a", lifetime: int = DAY) -> Wanted:
    return Wanted(authority or site_authority(), ["smollm2-135m"], [site], lifetime)


def keys(*pods: str) -> dict[str, str]:
    return {p: PODS[p].public_key_hex for p in pods}


def leaf(text: str) -> dict[str, Any]:
    first: dict[str, Any] = json.loads(text)[0]
    return first


def test_first_certificates_verify_as_peers_check_them() -> None:
    plan = plan_certificates(wanted(), keys("smollm-0", "smollm-1"), ["smollm-0", "smollm-1"], {}, NOW)
    assert plan.issued == ["smollm-0", "smollm-1"] and sorted(plan.data) == plan.issued
    for pod, text in plan.data.items():
        chain = parse_chain(text)
        assert len(chain) == 2 and chain[1:] == delegation()  # the node certificate, then the delegation
        scope = verify_chain(chain, PODS[pod].public_key_hex, {ROOT.public_key_hex}, NOW)
        assert scope.models == {"smollm2-135m"} and scope.sites == {"a"}
        assert scope.not_after == NOW + DAY and scope.not_before <= NOW
        with pytest.raises(CertError):  # for that pod's key only
            verify_chain(chain, PODS["smollm-2"].public_key_hex, {ROOT.public_key_hex}, NOW)


def test_certificates_are_kept_until_a_third_of_their_life_is_left_then_renewed() -> None:
    pods = ["smollm-0"]
    first = plan_certificates(wanted(), keys("smollm-0"), pods, {}, NOW).data
    later = plan_certificates(wanted(), keys("smollm-0"), pods, first, NOW + 0.6 * DAY)
    assert later.data == first and later.issued == []  # nothing to apply: the same ConfigMap
    renewed = plan_certificates(wanted(), keys("smollm-0"), pods, first, NOW + 0.7 * DAY)
    assert renewed.issued == ["smollm-0"]
    assert leaf(renewed.data["smollm-0"])["not_after"] == int(NOW + 1.7 * DAY)
    # renewed with the old one still valid: the node publishes the new one at its next heartbeat
    assert leaf(first["smollm-0"])["not_after"] > NOW + 0.7 * DAY


def test_certificates_never_outlive_the_delegation_nor_churn_at_its_end() -> None:
    authority = site_authority(days=0.5)
    first = plan_certificates(wanted(authority), keys("smollm-0"), ["smollm-0"], {}, NOW).data
    assert leaf(first["smollm-0"])["not_after"] == int(NOW + 0.5 * DAY)
    # with a third of its life left a new one would end no later: it is kept (the delegation must be
    # renewed: authority_problem reports it once it has expired)
    near_end = plan_certificates(wanted(authority), keys("smollm-0"), ["smollm-0"], first, NOW + 0.45 * DAY)
    assert near_end.issued == [] and near_end.data == first


def test_pods_not_read_keep_theirs_and_gone_pods_are_dropped() -> None:
    all_pods = ["smollm-0", "smollm-1", "smollm-2"]
    first = plan_certificates(wanted(), keys(*all_pods), all_pods, {}, NOW).data
    # smollm-1 did not answer its scrape (not ready, restarting); smollm-2 is gone (scaled down)
    plan = plan_certificates(wanted(), keys("smollm-0"), ["smollm-0", "smollm-1"], first, NOW + 60)
    assert plan.data == {"smollm-0": first["smollm-0"], "smollm-1": first["smollm-1"]}
    assert plan.issued == []


@pytest.mark.parametrize("change", ["key", "site", "delegation", "authority_key", "garbage", "expired"])
def test_a_certificate_that_no_longer_fits_is_replaced(change: str) -> None:
    first = plan_certificates(wanted(), keys("smollm-0"), ["smollm-0"], {}, NOW).data
    pod_keys, want, existing, now = keys("smollm-0"), wanted(), dict(first), NOW + 60
    if change == "key":  # the pod lost its volume: a new node key
        pod_keys = {"smollm-0": NodeIdentity.generate().public_key_hex}
    elif change == "site":
        want = wanted(site_authority(sites=("a", "b")), site="b")
    elif change == "delegation":  # the Secret's chain.json was renewed: pods must carry the new one
        want = wanted(site_authority(days=60))
    elif change == "authority_key":  # rotated to another site key under the same root
        other = NodeIdentity.generate()
        chain = [issue_certificate(ROOT, subject=other.public_key_hex, role="authority",
                                   not_before=int(NOW) - DAY, not_after=int(NOW) + 30 * DAY)]  # fmt: skip
        want = wanted(Authority(other, chain, frozenset({ROOT.public_key_hex})))
    elif change == "garbage":
        existing = {"smollm-0": "{not a chain"}
    elif change == "expired":
        now = NOW + 2 * DAY
    plan = plan_certificates(want, pod_keys, ["smollm-0"], existing, now)
    assert plan.issued == ["smollm-0"]
    verify_chain(parse_chain(plan.data["smollm-0"]), pod_keys["smollm-0"], want.authority.roots, now)


def test_a_scope_beyond_the_delegation_is_refused() -> None:
    authority = site_authority()
    outside = parse_spec(url_spec(site="b"))
    assert "site 'b' is outside" in str(scope_problem(outside, authority))
    other_model = parse_spec(url_spec(model={"name": "llama-70b", "source": url_spec()["model"]["source"]}))
    assert "model 'llama-70b' is outside" in str(scope_problem(other_model, authority))
    assert scope_problem(parse_spec(url_spec(site="a")), authority) is None
    with pytest.raises(CertError):  # even if asked: never a certificate wider than the delegation
        plan_certificates(wanted(authority, site="b"), keys("smollm-0"), ["smollm-0"], {}, NOW)


def test_the_pods_scope_is_the_model_and_the_site() -> None:
    authority = site_authority(sites=("a", "b"))
    assert pod_scope(parse_spec(url_spec(site="a")), authority) == (["smollm2-135m"], ["a"])
    # no site claimed: the delegation's sites (a node claiming none is not checked for one)
    assert pod_scope(parse_spec(url_spec()), authority) == (["smollm2-135m"], ["a", "b"])
    root = Authority(ROOT, [], frozenset({ROOT.public_key_hex}))
    assert pod_scope(parse_spec(url_spec()), root) == (["smollm2-135m"], [ANY])
    plan = plan_certificates(
        Wanted(root, ["smollm2-135m"], [ANY], DAY), keys("smollm-0"), ["smollm-0"], {}, NOW
    )
    assert len(parse_chain(plan.data["smollm-0"])) == 1  # a root signs the node directly


def test_authority_problems() -> None:
    assert authority_problem(site_authority(), NOW) is None
    assert authority_problem(Authority(ROOT, [], frozenset({ROOT.public_key_hex})), NOW) is None
    expired = site_authority(days=-0.5)
    assert "expired" in str(authority_problem(expired, NOW))
    theirs = Authority(NodeIdentity.generate(), delegation(), frozenset({ROOT.public_key_hex}))
    assert "does not delegate" in str(authority_problem(theirs, NOW))
    untrusted = Authority(SITE, delegation(), frozenset({NodeIdentity.generate().public_key_hex}))
    assert "not a trusted swarm authority" in str(authority_problem(untrusted, NOW))
    lone = Authority(SITE, [], frozenset({ROOT.public_key_hex}))
    assert "not a trusted root" in str(authority_problem(lone, NOW))


def write_authority(tmp_path: Path, chain: list[dict[str, Any]] | None) -> OperatorSettings:
    key = tmp_path / "authority.key"
    if not key.exists():
        NodeIdentity.load_or_create(key)
    chain_file = None
    if chain is not None:
        chain_file = tmp_path / "chain.json"
        chain_file.write_text(json.dumps(chain))
    return OperatorSettings(authority_key_file=key, authority_chain_file=chain_file)


def test_reading_the_authority_from_the_mounted_secret(tmp_path: Path) -> None:
    assert read_authority(OperatorSettings()) is None
    settings = write_authority(tmp_path, None)
    own = read_authority(settings)
    assert own is not None and own.chain == [] and own.roots == {own.key.public_key_hex}
    now = int(time.time())
    chain = [issue_certificate(ROOT, subject=own.key.public_key_hex, role="authority",
                               not_before=now - 5, not_after=now + DAY)]  # fmt: skip
    delegated = read_authority(write_authority(tmp_path, chain))
    assert delegated is not None and delegated.roots == {ROOT.public_key_hex} and delegated.chain == chain
    assert authority_problem(delegated, time.time()) is None
    pinned = settings.model_copy(update={"authority_roots": ["ab" * 32]})
    assert read_authority(pinned).roots == {"ab" * 32}  # type: ignore[union-attr]


def test_a_secret_without_chain_json_makes_the_key_a_root(tmp_path: Path) -> None:
    settings = write_authority(tmp_path, [])
    assert settings.authority_chain_file is not None
    settings.authority_chain_file.unlink()  # the chart always names the file; the Secret may lack it
    authority = read_authority(settings)
    assert (
        authority is not None and authority.chain == [] and authority.roots == {authority.key.public_key_hex}
    )


@pytest.mark.parametrize("broken", ["no key", "bad key", "unreadable chain", "bad chain"])
def test_an_unreadable_authority_is_an_authority_error(tmp_path: Path, broken: str) -> None:
    settings = write_authority(tmp_path, [])
    assert settings.authority_key_file is not None and settings.authority_chain_file is not None
    if broken == "no key":
        settings.authority_key_file.unlink()
    elif broken == "bad key":
        settings.authority_key_file.write_text("-----BEGIN PRIVATE KEY-----\nnope\n")
    elif broken == "unreadable chain":
        settings.authority_chain_file.unlink()
        settings.authority_chain_file.mkdir()  # not a file
    else:
        settings.authority_chain_file.write_text('[{"format": 2}]')
    with pytest.raises(AuthorityError, match="swarm authority"):
        read_authority(settings)


def test_which_roots_the_pods_trust() -> None:
    authority = site_authority()
    assert pod_roots(parse_spec(url_spec()), authority) == {ROOT.public_key_hex}
    assert pod_roots(parse_spec(url_spec()), None) is None  # an operator without an authority
    off = parse_spec(url_spec(swarm={"authority": {"enabled": False}}))
    assert pod_roots(off, authority) is None
    mine = parse_spec(url_spec(swarm={"authority": {"roots": ["CD" * 32, ROOT.public_key_hex]}}))
    assert pod_roots(mine, authority) == {"cd" * 32, ROOT.public_key_hex}


def test_counting_pods_that_hold_a_certificate() -> None:
    assert certified([int(NOW) + 10, 0, None, int(NOW) - 1], NOW) == 1
