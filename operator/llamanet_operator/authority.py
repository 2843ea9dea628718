"""The operator's swarm authority: the key that certifies its pods, its delegation, whom the pods trust.

The chart mounts a Secret into the operator pod (``operator.authority.secretName``): ``authority.key``,
an Ed25519 key as ``llamanet swarm authority create`` writes it, and optionally ``chain.json``, that
key's delegation from a root as ``llamanet swarm cert issue --authority-subject`` writes it (without
one, or with no such file, the key is a root itself). ``read_authority`` reads both at every use (the
kubelet updates a mounted Secret, so a renewed delegation is taken without a restart); the rest is pure.

The pods trust ``OperatorSettings.authority_roots``, else the chain's root, else the key itself
(``SWARM_AUTHORITY``); a LlamaNode may opt out or name its own roots (``spec.swarm.authority``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamanet_common.certs import (
    ANY,
    Scope,
    check_claims,
    issue_certificate,
    parse_certificate,
    parse_chain,
    verify_chain,
)
from llamanet_common.errors import CertError, IdentityError
from llamanet_common.identity import NodeIdentity
from llamanet_operator.errors import AuthorityError
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import LlamaNodeSpec


@dataclass(frozen=True)
class Authority:
    key: NodeIdentity
    chain: list[dict[str, Any]]  # the key's delegation from a root, leaf first; [] when it is a root
    roots: frozenset[str]  # what the pods trust by default

    @property
    def delegation(self) -> Scope | None:
        """What the key may certify (its delegation's scope); None: anything (a root)."""
        return parse_certificate(self.chain[0]).scope if self.chain else None

    @property
    def ends(self) -> int | None:
        """When the delegation chain ends (unix s); None: never (a root)."""
        return min(int(c["not_after"]) for c in self.chain) if self.chain else None


def default_roots(key: NodeIdentity, chain: list[dict[str, Any]]) -> frozenset[str]:
    """The chain's root (the last issuer), or the key itself when it is a root."""
    return frozenset({str(chain[-1]["issuer"])}) if chain else frozenset({key.public_key_hex})


def read_authority(settings: OperatorSettings) -> Authority | None:
    """The authority of the settings' files (None: none configured); ``AuthorityError`` when unreadable."""
    if settings.authority_key_file is None:
        return None
    try:
        key = NodeIdentity.load(settings.authority_key_file)
    except IdentityError as exc:
        raise AuthorityError(f"swarm authority key: {exc}") from exc
    chain: list[dict[str, Any]] = []
    path = settings.authority_chain_file
    if path is not None:
        try:
            chain = parse_chain(path.read_bytes())
        except FileNotFoundError:
            chain = []  # the Secret holds no chain.json: the key is a root itself
        except OSError as exc:
            raise AuthorityError(f"swarm authority chain {path}: {exc.strerror or exc}") from exc
        except CertError as exc:
            raise AuthorityError(f"swarm authority chain {path}: {exc}") from exc
    roots = frozenset(settings.authority_roots) or default_roots(key, chain)
    return Authority(key, chain, roots)


def authority_problem(authority: Authority, now: float) -> str | None:
    """Why ``authority`` cannot certify anyone at ``now`` (None: it can): a delegation for another key,
    an expired chain, or one that does not lead to the trusted roots."""
    key = authority.key.public_key_hex
    if authority.chain:
        first = parse_certificate(authority.chain[0])
        if first.role != "authority" or first.subject != key:
            return "the swarm authority's chain.json does not delegate to its authority.key (another key's?)"
        ends = authority.ends or 0
        if ends <= now:
            return f"the swarm authority's delegation expired at {ends}: issue a new chain.json"
    elif key not in authority.roots:
        return "the swarm authority key is not a trusted root and has no delegation chain (chain.json)"
    # a certificate for the key itself, as wide as the delegation, must verify as a pod's would
    scope = authority.delegation
    probe = issue_certificate(
        authority.key,
        subject=key,
        models=sorted(scope.models) if scope and scope.models is not None else [ANY],
        sites=sorted(scope.sites) if scope and scope.sites is not None else [ANY],
        not_before=scope.not_before if scope else int(now),
        not_after=authority.ends or int(now) + 60,
    )
    try:
        verify_chain([probe, *authority.chain], key, authority.roots, now)
    except CertError as exc:
        return f"the swarm authority cannot certify pods: {exc}"
    return None


def pod_roots(spec: LlamaNodeSpec, authority: Authority | None) -> frozenset[str] | None:
    """The authority keys a LlamaNode's pods trust (``SWARM_AUTHORITY``); None: no authority for them."""
    if authority is None or not spec.swarm.authority.enabled:
        return None
    return frozenset(spec.swarm.authority.roots) or authority.roots


def pod_scope(spec: LlamaNodeSpec, authority: Authority) -> tuple[list[str], list[str]]:
    """(models, sites) of the LlamaNode's pods' certificates: its model, and its site (without one, the
    sites of the delegation: a node that claims no site is not checked for one)."""
    scope = authority.delegation
    if spec.site is not None:
        sites = [spec.site]
    else:
        sites = sorted(scope.sites) if scope is not None and scope.sites is not None else [ANY]
    return [spec.model.name], sites


def scope_problem(spec: LlamaNodeSpec, authority: Authority) -> str | None:
    """Why the authority cannot certify this LlamaNode's pods (its model or site is outside the
    delegation); None when it can."""
    scope = authority.delegation
    if scope is None:
        return None
    try:
        check_claims(scope, [spec.model.name], spec.site)
    except CertError as exc:
        return f"the swarm authority's delegation does not cover this LlamaNode: {exc}"
    return None
