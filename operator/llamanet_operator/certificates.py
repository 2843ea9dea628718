"""The pods' membership certificates (pure): which to issue, keep, renew or drop, and the ConfigMap.

The operator's swarm authority (``authority``) certifies the public key each ready pod reports in its
``/metrics`` (``scrape``) for the LlamaNode's model and site, for ``cert_hours`` and never beyond its own
delegation, and publishes the chain (the new certificate, then the delegation) in the ConfigMap
``<name>-certs``, one key per pod name, which the pods mount (``SWARM_CERT_FILE``, re-read each
heartbeat). ``plan_certificates`` runs on every observe tick:

- a pod whose key was read gets a certificate when it has none, or one that no longer verifies for that
  key against the roots, names another model or site, comes from another key or delegation, or has
  less than a third of its life left (and a new one would end later);
- a pod whose key was not read this tick (not ready, no answer) keeps what it has;
- entries of pods that no longer exist are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from llamanet_common.certs import issue_certificate, parse_certificate, parse_chain, verify_chain
from llamanet_common.errors import CertError
from llamanet_operator.authority import Authority
from llamanet_operator.names import Owner, certs_config_name, metadata

RENEW_FRACTION = 1 / 3  # renew when less than this share of a certificate's life is left
BACKDATE_S = 60  # not_before this far back: peers' clocks may lag the operator's a little


@dataclass(frozen=True)
class Wanted:
    """What every pod of one LlamaNode gets: its scope, for how long, from which authority."""

    authority: Authority
    models: list[str]
    sites: list[str]
    lifetime_s: int


@dataclass(frozen=True)
class CertPlan:
    data: dict[str, str]  # the ConfigMap's data: pod name -> chain (JSON)
    issued: list[str]  # pods given a new certificate this pass


def chain_text(chain: list[dict[str, Any]]) -> str:
    return json.dumps(chain, separators=(",", ":"))


def needs_certificate(text: str | None, key: str, wanted: Wanted, now: float, new_end: int) -> bool:
    """Whether the pod with public ``key`` needs a new certificate, holding ``text`` (None: none)."""
    if text is None:
        return True
    authority = wanted.authority
    try:
        chain = parse_chain(text)
        verify_chain(chain, key, authority.roots, now)
        leaf = parse_certificate(chain[0])
    except CertError:
        return True
    if leaf.issuer != authority.key.public_key_hex or chain[1:] != authority.chain:
        return True  # another authority key, or a renewed delegation to carry
    if leaf.models != wanted.models or leaf.sites != wanted.sites:
        return True  # the LlamaNode's model or site changed
    left, life = leaf.not_after - now, leaf.not_after - leaf.not_before
    return left < life * RENEW_FRACTION and new_end > leaf.not_after


def issue_chain(key: str, wanted: Wanted, now: float) -> list[dict[str, Any]]:
    """A new chain for the pod with public ``key``: its certificate, then the authority's delegation."""
    authority = wanted.authority
    delegation = authority.delegation
    not_before = int(now) - BACKDATE_S
    if delegation is not None:
        not_before = max(not_before, delegation.not_before)  # within the delegation, never before it
    cert = issue_certificate(
        authority.key,
        subject=key,
        models=wanted.models,
        sites=wanted.sites,
        not_before=not_before,
        not_after=end_of(wanted, now),
    )
    return [cert, *authority.chain]


def end_of(wanted: Wanted, now: float) -> int:
    """A new certificate's not_after: ``lifetime_s`` from now, never beyond the delegation's end."""
    end = int(now) + wanted.lifetime_s
    ends = wanted.authority.ends
    return min(end, ends) if ends is not None else end


def plan_certificates(
    wanted: Wanted, keys: dict[str, str], pods: Collection[str], existing: dict[str, str], now: float
) -> CertPlan:
    """The ConfigMap data for ``pods`` (every pod of the LlamaNode, ready or not), given the public
    ``keys`` read from the ready ones and the ``existing`` data. Raises ``CertError`` only if the
    authority cannot certify within its delegation (``authority.scope_problem`` says so first)."""
    data: dict[str, str] = {}
    issued: list[str] = []
    new_end = end_of(wanted, now)
    for pod in sorted(set(pods)):
        old, key = existing.get(pod), keys.get(pod)
        if key is None:
            if old is not None:
                data[pod] = old  # not read this pass: keep it (a pod that fails a scrape keeps its chain)
            continue
        if old is not None and not needs_certificate(old, key, wanted, now, new_end):
            data[pod] = old
            continue
        chain = issue_chain(key, wanted, now)
        verify_chain(chain, key, wanted.authority.roots, now)  # as every peer will check it
        data[pod] = chain_text(chain)
        issued.append(pod)
    return CertPlan(data, issued)


def certs_config_map(owner: Owner, data: dict[str, str]) -> dict[str, Any]:
    """The ConfigMap the pods mount: one key (file) per pod name."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, certs_config_name(owner)),
        "data": dict(data),
    }


def certified(ends: list[int | None], now: float) -> int:
    """How many pods report a certificate chain their own authorities accept that has not ended."""
    return sum(1 for end in ends if end is not None and end > now)
