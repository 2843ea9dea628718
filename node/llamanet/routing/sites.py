"""Pure site rules: which sites a request may be routed to (residency) and the own-site preference.

- ``SitePolicy``: the allowed sites (``None``: every site) and where the restriction came from. A node's
  policy is ``--route-sites`` (``ROUTE_SITES``); a request narrows it with the header
  ``x-llamanet-allowed-sites`` (``narrowed``: the intersection, so a header never widens it); a forwarded
  request carries the effective set in the same header, so the next hop narrows its own policy by it.
- A node whose site is unknown (no ``site`` in its record) is outside every restricted policy. Fixed-URL
  nodes of the client (no record) are the exception: the client cannot know their site, sends the
  header and lets the node enforce it (``admits_view``).
- ``prefer_site``: the ``Rules.site`` preference: nodes of this node's site count ``margin`` less load,
  so they go first when loads differ by less than the margin (``selection.order``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from llamanet.routing.errors import RoutingError
from llamanet.routing.view import NodeView
from llamanet_common.proofs import SITES_HEADER

ALLOWED_SITES_HEADER = SITES_HEADER  # signed in forwarded requests (``llamanet_common.proofs``)
ANY_SITE = "*"
MAX_SITES = 32
MAX_SITE_CHARS = 64


class BadSitesError(RoutingError):
    """A site list (setting, header or client option) that cannot be parsed."""


class SiteNotAllowedError(RoutingError):
    """The model is served only at sites the routing policy does not allow."""


def parse_sites(text: str | None, what: str = ALLOWED_SITES_HEADER) -> frozenset[str] | None:
    """A comma-separated site list; absent or ``*`` means every site (None). Raises ``BadSitesError``."""
    if text is None or text.strip() == ANY_SITE:
        return None
    sites = [s.strip() for s in text.split(",")]
    if not any(sites):
        raise BadSitesError(f"{what}: an empty site list (use '*' for every site)")
    if len(sites) > MAX_SITES:
        raise BadSitesError(f"{what}: {len(sites)} sites, at most {MAX_SITES}")
    for site in sites:
        if not site or len(site) > MAX_SITE_CHARS or not site.isprintable() or "*" in site:
            raise BadSitesError(f"{what}: bad site name {site[:MAX_SITE_CHARS]!r}")
    return frozenset(sites)


@dataclass(frozen=True)
class SitePolicy:
    allowed: frozenset[str] | None = None  # None: every site
    source: str = ""  # what restricted it, for error messages

    @property
    def restricted(self) -> bool:
        return self.allowed is not None

    def admits(self, site: str | None) -> bool:
        return self.allowed is None or (site is not None and site in self.allowed)

    def admits_view(self, view: NodeView) -> bool:
        """The residency filter of ``selection.Rules`` (fixed-URL nodes enforce the header themselves)."""
        return view.source == "static" or self.admits(view.site)

    def narrowed(self, sites: frozenset[str] | None, source: str = ALLOWED_SITES_HEADER) -> SitePolicy:
        """This policy intersected with ``sites`` (None: unchanged); never wider than either."""
        if sites is None:
            return self
        if self.allowed is None:
            return SitePolicy(sites, source)
        return SitePolicy(self.allowed & sites, f"{self.source} and {source}")

    def describe(self) -> str:
        if self.allowed is None:
            return "every site"
        return ", ".join(sorted(self.allowed)) or "no site"

    def header_value(self) -> str | None:
        """The header a forwarded request carries (None when unrestricted)."""
        return None if self.allowed is None else ",".join(sorted(self.allowed))

    def forward_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """``headers`` with this policy's allowed-sites header set (or removed when unrestricted)."""
        out = {k: v for k, v in headers.items() if k.lower() != ALLOWED_SITES_HEADER}
        value = self.header_value()
        if value is not None:
            out[ALLOWED_SITES_HEADER] = value
        return out


EVERY_SITE = SitePolicy()


def request_policy(node_policy: SitePolicy, header: str | None) -> SitePolicy:
    """The policy of one request: the node's, narrowed by the request's header."""
    return node_policy.narrowed(parse_sites(header, ALLOWED_SITES_HEADER))


def not_allowed(model: str, sites: Iterable[str | None], policy: SitePolicy) -> SiteNotAllowedError:
    """The error for a model served only outside ``policy``'s sites, naming the policy."""
    where = ", ".join(sorted({s or "(no site)" for s in sites})) or "nowhere"
    return SiteNotAllowedError(
        f"model {model!r} is served only at sites outside those this request may use: served at {where}; "
        f"allowed: {policy.describe()} (routing policy {policy.source or 'of this node'}); "
        "the request was not forwarded"
    )


def prefer_site(own_site: str | None, margin: float) -> Callable[[NodeView], float]:
    """``Rules.site``: a load discount of ``margin`` for nodes of ``own_site`` (none without a site)."""

    def preference(view: NodeView) -> float:
        return -margin if own_site is not None and view.site == own_site else 0.0

    return preference
