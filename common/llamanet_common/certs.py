"""Membership certificates: a swarm authority's signed statement that a node key is a member (pure, no I/O).

A certificate is a JSON object, signed by its ``issuer`` (an Ed25519 authority key, hex) over
``CERT_DOMAIN`` and the canonical JSON (``record.canonical_json``) of every field but ``sig``::

    {"format": 2, "role": "node" | "authority", "subject": "<hex key>", "issuer": "<hex key>",
     "models": ["*"] | ["smollm2-135m", ...], "sites": ["*"] | ["site-a", ...],
     "not_before": <unix s>, "not_after": <unix s>, "sig": "<hex>"}

``role: node`` admits the node key ``subject``; ``role: authority`` delegates: ``subject`` is another
authority key (a site's) that may issue certificates within this one's scope (models, sites, validity),
narrowed, never widened. A chain is a list, leaf first: ``[node cert]`` (a root signed the node) or
``[node cert, delegation]`` (root -> site authority -> node); ``MAX_CHAIN`` certificates at most.
``verify_chain`` walks it up to the first issuer that is a trusted root and returns the node's ``Scope``;
anything else raises a ``CertError`` (``llamanet_common.errors``) saying why.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llamanet_common.errors import (
    CertExpiredError,
    CertNotYetValidError,
    CertScopeError,
    MalformedCertError,
    UntrustedCertError,
)
from llamanet_common.identity import NodeIdentity, verify_signature
from llamanet_common.record import canonical_json

CERT_FORMAT = 2
CERT_DOMAIN = b"llamanet-cert-v2\n"
MAX_CHAIN = 2  # certificates: root -> site authority -> node
ANY = "*"
MAX_CHAIN_FILE_BYTES = 16 * 1024
_HEX_KEY = r"^[0-9a-f]{64}$"
Role = Literal["node", "authority"]


class Certificate(BaseModel):
    """One certificate, parsed strictly (unknown fields, floats for times, oversize lists: refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    format: Literal[2]
    role: Role
    subject: str = Field(pattern=_HEX_KEY)
    issuer: str = Field(pattern=_HEX_KEY)
    models: list[str] = Field(min_length=1, max_length=32)
    sites: list[str] = Field(min_length=1, max_length=16)
    not_before: int = Field(ge=0)
    not_after: int = Field(ge=0)
    sig: str = Field(pattern=r"^[0-9a-f]{128}$")

    def signed_bytes(self) -> bytes:
        return cert_bytes(self.model_dump(exclude={"sig"}))

    @property
    def scope(self) -> Scope:
        return Scope(_names(self.models), _names(self.sites), self.not_before, self.not_after)


def _names(items: list[str]) -> frozenset[str] | None:
    """None for "any" (``["*"]``), else the set of names."""
    return None if ANY in items else frozenset(items)


@dataclass(frozen=True)
class Scope:
    """What a certificate allows: models and sites (None: any) and the validity period (unix s)."""

    models: frozenset[str] | None
    sites: frozenset[str] | None
    not_before: int
    not_after: int

    def allows_model(self, model: str) -> bool:
        return self.models is None or model in self.models

    def allows_site(self, site: str | None) -> bool:
        """A node that claims no site (None) claims nothing to check."""
        return site is None or self.sites is None or site in self.sites

    def allows(self, model: str | None, site: str | None) -> bool:
        """Whether a node may serve ``model`` (None: no model) at ``site`` (None: no site claimed)."""
        return (model is None or self.allows_model(model)) and self.allows_site(site)

    def within(self, outer: Scope) -> bool:
        """True when this scope is ``outer`` or narrower in every part."""
        return (
            _subset(self.models, outer.models)
            and _subset(self.sites, outer.sites)
            and outer.not_before <= self.not_before
            and self.not_after <= outer.not_after
        )

    def describe(self) -> str:
        def names(items: frozenset[str] | None) -> str:
            return "any" if items is None else ",".join(sorted(items))

        return f"models {names(self.models)}, sites {names(self.sites)}, until {self.not_after}"


def _subset(inner: frozenset[str] | None, outer: frozenset[str] | None) -> bool:
    if outer is None:
        return True
    return inner is not None and inner <= outer


def cert_bytes(unsigned: dict[str, Any]) -> bytes:
    """The bytes an issuer signs: the domain tag, then the canonical JSON of the unsigned fields."""
    return CERT_DOMAIN + canonical_json(unsigned)


def issue_certificate(
    issuer: NodeIdentity,
    *,
    subject: str,
    role: Role = "node",
    models: Sequence[str] = (ANY,),
    sites: Sequence[str] = (ANY,),
    not_before: int,
    not_after: int,
) -> dict[str, Any]:
    """A certificate by ``issuer`` for ``subject`` (a hex public key), as the JSON object it travels as."""
    unsigned: dict[str, Any] = {
        "format": CERT_FORMAT,
        "role": role,
        "subject": subject,
        "issuer": issuer.public_key_hex,
        "models": list(models),
        "sites": list(sites),
        "not_before": not_before,
        "not_after": not_after,
    }
    if not_after <= not_before:
        raise MalformedCertError("a certificate's not_after must be after its not_before")
    cert = {**unsigned, "sig": issuer.sign(cert_bytes(unsigned))}
    parse_certificate(cert)  # the issuer's own input is held to the format as every reader holds it
    return cert


def parse_certificate(data: Any) -> Certificate:
    try:
        return Certificate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "certificate"
        raise MalformedCertError(f"malformed certificate: {where}: {first['msg']}") from exc


def verify_chain(
    chain: Sequence[Any],
    node_public_key: str,
    trusted_roots: Collection[str],
    now: float,
    clock_skew: float = 0.0,
) -> Scope:
    """The scope ``chain`` (leaf first, JSON objects) grants ``node_public_key`` at ``now``.

    Each certificate must be signed by its issuer, valid at ``now`` (``clock_skew`` seconds of leeway
    either side), within the scope of the certificate that delegates to its issuer, and the walk must
    reach an issuer in ``trusted_roots`` within ``MAX_CHAIN`` certificates. Raises a ``CertError``.
    """
    if not isinstance(chain, Sequence) or isinstance(chain, str | bytes) or not chain:
        raise MalformedCertError("no certificate chain")
    if len(chain) > MAX_CHAIN:
        raise UntrustedCertError(f"certificate chain of {len(chain)}, at most {MAX_CHAIN}")
    certs = [parse_certificate(item) for item in chain]
    leaf = certs[0]
    if leaf.role != "node":
        raise UntrustedCertError("the first certificate of a chain must be a node certificate")
    if leaf.subject != node_public_key:
        raise UntrustedCertError("the certificate is for another key")
    for index, cert in enumerate(certs):
        if not verify_signature(cert.issuer, cert.signed_bytes(), cert.sig):
            raise UntrustedCertError(f"bad signature on certificate {index} of the chain")
        if now + clock_skew < cert.not_before:
            raise CertNotYetValidError(
                f"certificate {index} of the chain is not valid before {cert.not_before}"
            )
        if now - clock_skew >= cert.not_after:
            raise CertExpiredError(f"certificate {index} of the chain expired at {cert.not_after}")
        if index and not certs[index - 1].scope.within(cert.scope):
            raise CertScopeError(f"certificate {index - 1} widens the scope its issuer was delegated")
        if cert.issuer in trusted_roots:
            return leaf.scope
        if index + 1 == len(certs):
            raise UntrustedCertError(f"issuer {cert.issuer[:16]}... is not a trusted swarm authority")
        parent = certs[index + 1]
        if parent.role != "authority" or parent.subject != cert.issuer:
            raise UntrustedCertError(f"certificate {index + 1} does not delegate to the issuer of {index}")
    raise AssertionError("unreachable")  # pragma: no cover


def parse_chain(text: str | bytes) -> list[dict[str, Any]]:
    """A chain file's content (a JSON list of certificate objects, leaf first); not yet verified."""
    if len(text) > MAX_CHAIN_FILE_BYTES:
        raise MalformedCertError(f"certificate chain larger than {MAX_CHAIN_FILE_BYTES} bytes")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCertError(f"certificate chain is not JSON: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise MalformedCertError("a certificate chain is a JSON list of certificate objects")
    for item in data:
        parse_certificate(item)
    return data


def parse_authorities(text: str) -> frozenset[str]:
    """Hex Ed25519 public keys separated by commas, spaces or newlines (``--swarm-authority``, its file)."""
    keys = [k.strip().lower() for k in text.replace("\n", ",").replace(" ", ",").split(",") if k.strip()]
    for key in keys:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise MalformedCertError(f"swarm authority {key[:20]!r} is not a 64-hex-digit Ed25519 public key")
    return frozenset(keys)


def check_claims(scope: Scope, models: Sequence[str], site: str | None) -> None:
    """Raise ``CertScopeError`` unless ``scope`` allows every model of ``models`` and ``site``."""
    outside = [m for m in models if not scope.allows_model(m)]
    if outside:
        raise CertScopeError(f"model {outside[0][:64]!r} is outside the certificate ({scope.describe()})")
    if not scope.allows_site(site):
        raise CertScopeError(f"site {site!r} is outside the certificate ({scope.describe()})")
