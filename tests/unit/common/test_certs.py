"""Membership certificates (``llamanet_common.certs``): chains that admit a node key, and every way one
must not: an unknown root, expiry either side, a delegation that widens its scope, a chain too long, a
tampered field, a certificate for another key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llamanet_common.certs import (
    MAX_CHAIN,
    Scope,
    check_claims,
    issue_certificate,
    parse_authorities,
    parse_chain,
    verify_chain,
)
from llamanet_common.errors import (
    CertError,
    CertExpiredError,
    CertNotYetValidError,
    CertScopeError,
    IdentityError,
    MalformedCertError,
    UntrustedCertError,
)
from llamanet_common.identity import NodeIdentity

NOW = 1_800_000_000
DAY = 86_400
ROOT, SITE, NODE, OTHER = (NodeIdentity.generate() for _ in range(4))
ROOTS = {ROOT.public_key_hex}


def cert(
    issuer: NodeIdentity,
    subject: NodeIdentity,
    *,
    role: str = "node",
    models: tuple[str, ...] = ("*",),
    sites: tuple[str, ...] = ("*",),
    start: int = NOW - 60,
    end: int = NOW + DAY,
) -> dict[str, Any]:
    return issue_certificate(
        issuer,
        subject=subject.public_key_hex,
        role=role,  # type: ignore[arg-type]
        models=models,
        sites=sites,
        not_before=start,
        not_after=end,
    )


def delegation(**kw: Any) -> dict[str, Any]:
    kw = {"models": ("smollm2-135m", "gemma3-270m"), "sites": ("site-a",), "end": NOW + 30 * DAY, **kw}
    return cert(ROOT, SITE, role="authority", **kw)


def test_a_root_signed_node_certificate_grants_its_scope() -> None:
    scope = verify_chain(
        [cert(ROOT, NODE, models=("smollm2-135m",), sites=("a",))], NODE.public_key_hex, ROOTS, NOW
    )
    assert scope.allows("smollm2-135m", "a") and scope.allows(None, None)
    assert not scope.allows("gemma3-270m", "a") and not scope.allows("smollm2-135m", "b")
    any_scope = verify_chain([cert(ROOT, NODE)], NODE.public_key_hex, ROOTS, NOW)
    assert any_scope.allows("anything", "anywhere")


def test_a_site_authority_admits_its_nodes_within_its_delegation() -> None:
    leaf = cert(SITE, NODE, models=("smollm2-135m",), sites=("site-a",))
    scope = verify_chain([leaf, delegation()], NODE.public_key_hex, ROOTS, NOW)
    assert scope == Scope(frozenset({"smollm2-135m"}), frozenset({"site-a"}), NOW - 60, NOW + DAY)
    # the site authority itself is not trusted: without the delegation its certificate leads nowhere
    with pytest.raises(UntrustedCertError, match="not a trusted swarm authority"):
        verify_chain([leaf], NODE.public_key_hex, ROOTS, NOW)
    # dropping the root drops the site; trusting the site's key directly admits its nodes alone
    with pytest.raises(UntrustedCertError):
        verify_chain([leaf, delegation()], NODE.public_key_hex, {OTHER.public_key_hex}, NOW)
    assert verify_chain([leaf], NODE.public_key_hex, {SITE.public_key_hex}, NOW).allows_site("site-a")


def test_an_unknown_root_is_refused() -> None:
    forged = cert(OTHER, NODE)  # a forging peer's own "authority"
    with pytest.raises(UntrustedCertError, match="not a trusted"):
        verify_chain([forged], NODE.public_key_hex, ROOTS, NOW)
    with pytest.raises(UntrustedCertError):
        verify_chain([forged], NODE.public_key_hex, set(), NOW)


def test_expired_and_not_yet_valid_certificates_are_refused_with_the_skew_as_leeway() -> None:
    leaf = cert(ROOT, NODE, start=NOW, end=NOW + 100)
    with pytest.raises(CertExpiredError, match="expired"):
        verify_chain([leaf], NODE.public_key_hex, ROOTS, NOW + 100)
    with pytest.raises(CertNotYetValidError, match="not valid before"):
        verify_chain([leaf], NODE.public_key_hex, ROOTS, NOW - 10)
    verify_chain([leaf], NODE.public_key_hex, ROOTS, NOW - 4, clock_skew=5)
    verify_chain([leaf], NODE.public_key_hex, ROOTS, NOW + 104, clock_skew=5)
    with pytest.raises(CertExpiredError):  # the delegation's expiry counts too
        verify_chain(
            [cert(SITE, NODE, end=NOW + 10), delegation(end=NOW + 10)], NODE.public_key_hex, ROOTS, NOW + 11
        )


def test_a_node_certificate_narrows_its_delegation() -> None:
    narrow = cert(SITE, NODE, models=("gemma3-270m",), sites=("site-a",), end=NOW + DAY)
    scope = verify_chain([narrow, delegation()], NODE.public_key_hex, ROOTS, NOW)
    assert scope.allows("gemma3-270m", "site-a") and not scope.allows("smollm2-135m", "site-a")


@pytest.mark.parametrize(
    ("models", "sites", "end"),
    [
        (("*",), ("site-a",), NOW + DAY),  # any model under a delegation of two
        (("smollm2-135m", "llama-70b"), ("site-a",), NOW + DAY),  # one model more
        (("smollm2-135m",), ("site-a", "site-b"), NOW + DAY),  # another site
        (("smollm2-135m",), ("*",), NOW + DAY),  # any site
        (("smollm2-135m",), ("site-a",), NOW + 31 * DAY),  # outliving the delegation
    ],
)
def test_a_delegation_that_widens_its_scope_is_refused(
    models: tuple[str, ...], sites: tuple[str, ...], end: int
) -> None:
    wide = cert(SITE, NODE, models=models, sites=sites, end=end)
    with pytest.raises(CertScopeError, match="widens"):
        verify_chain([wide, delegation()], NODE.public_key_hex, ROOTS, NOW)


def test_a_chain_longer_than_root_site_node_is_refused() -> None:
    middle = NodeIdentity.generate()
    chain = [
        cert(middle, NODE),
        cert(SITE, middle, role="authority"),
        cert(ROOT, SITE, role="authority", end=NOW + 30 * DAY),
    ]
    assert len(chain) > MAX_CHAIN
    with pytest.raises(UntrustedCertError, match="at most 2"):
        verify_chain(chain, NODE.public_key_hex, ROOTS, NOW)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("models", ["*"]),
        ("sites", ["site-b"]),
        ("not_after", NOW + 365 * DAY),
        ("subject", OTHER.public_key_hex),
    ],
)
def test_a_tampered_field_breaks_the_signature(field: str, value: object) -> None:
    leaf = {**cert(ROOT, NODE, models=("smollm2-135m",), sites=("site-a",)), field: value}
    key = OTHER.public_key_hex if field == "subject" else NODE.public_key_hex
    with pytest.raises(UntrustedCertError, match="bad signature"):
        verify_chain([leaf], key, ROOTS, NOW)


def test_a_certificate_for_another_key_or_of_the_wrong_role_is_refused() -> None:
    with pytest.raises(UntrustedCertError, match="another key"):
        verify_chain([cert(ROOT, NODE)], OTHER.public_key_hex, ROOTS, NOW)
    with pytest.raises(UntrustedCertError, match="node certificate"):  # a delegation is not a membership
        verify_chain([cert(ROOT, NODE, role="authority")], NODE.public_key_hex, ROOTS, NOW)
    # a node certificate cannot be used to issue: only a role "authority" certificate delegates
    as_parent = [cert(SITE, NODE), cert(ROOT, SITE)]
    with pytest.raises(UntrustedCertError, match="does not delegate"):
        verify_chain(as_parent, NODE.public_key_hex, ROOTS, NOW)
    unrelated = [cert(SITE, NODE), cert(ROOT, OTHER, role="authority")]
    with pytest.raises(UntrustedCertError, match="does not delegate"):
        verify_chain(unrelated, NODE.public_key_hex, ROOTS, NOW)


@pytest.mark.parametrize(
    "chain",
    [
        [],
        "not a list",
        [{"format": 2}],
        [{**cert(ROOT, NODE), "extra": 1}],
        [{**cert(ROOT, NODE), "not_after": float(NOW + 10)}],  # times are whole seconds
        [{**cert(ROOT, NODE), "format": 1}],
    ],
)
def test_malformed_chains_are_refused(chain: Any) -> None:
    with pytest.raises(MalformedCertError):
        verify_chain(chain, NODE.public_key_hex, ROOTS, NOW)


def test_every_refusal_is_one_cert_error_and_claims_are_checked_against_the_scope() -> None:
    assert issubclass(MalformedCertError, CertError) and issubclass(CertScopeError, CertError)
    scope = verify_chain([cert(ROOT, NODE, models=("m",), sites=("a",))], NODE.public_key_hex, ROOTS, NOW)
    check_claims(scope, ["m"], "a")
    check_claims(scope, [], None)
    with pytest.raises(CertScopeError, match="model 'n'"):
        check_claims(scope, ["m", "n"], "a")
    with pytest.raises(CertScopeError, match="site 'b'"):
        check_claims(scope, ["m"], "b")


def test_chain_files_and_authority_lists_parse_strictly() -> None:
    chain = [cert(SITE, NODE), delegation()]
    assert parse_chain(json.dumps(chain)) == chain
    for bad in ("{}", "[1]", "not json", json.dumps([{"format": 2}]), " " * 20_000):
        with pytest.raises(MalformedCertError):
            parse_chain(bad)
    a, b = ROOT.public_key_hex, SITE.public_key_hex
    assert parse_authorities(f" {a},{b.upper()}\n") == {a, b}
    assert parse_authorities("") == frozenset()
    with pytest.raises(MalformedCertError, match="not a 64-hex-digit"):
        parse_authorities("abc")


def test_issuing_refuses_an_empty_validity_period() -> None:
    with pytest.raises(MalformedCertError):
        cert(ROOT, NODE, start=NOW, end=NOW)


def test_loading_an_authority_key_never_creates_one(tmp_path: Path) -> None:
    missing = tmp_path / "authority.key"
    with pytest.raises(IdentityError, match="no key file"):
        NodeIdentity.load(missing)
    assert not missing.exists()
    made = NodeIdentity.load_or_create(missing)
    assert NodeIdentity.load(missing).public_key_hex == made.public_key_hex
    missing.write_text("not a key")
    with pytest.raises(IdentityError):
        NodeIdentity.load(missing)
