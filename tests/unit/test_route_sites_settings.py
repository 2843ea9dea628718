import pytest
from pydantic import ValidationError

from llamanet.settings import Settings


def test_route_sites_from_flags_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().allowed_sites() is None and Settings(route_sites="*").allowed_sites() is None
    assert Settings(route_sites="site-a, site-b").allowed_sites() == frozenset({"site-a", "site-b"})
    monkeypatch.setenv("ROUTE_SITES", "site-c")
    monkeypatch.setenv("SITE_PREFERENCE_MARGIN", "0.5")
    s = Settings()
    assert (s.allowed_sites(), s.site_preference_margin) == (frozenset({"site-c"}), 0.5)


def test_bad_route_sites_or_margin_are_refused_at_start() -> None:
    for bad in ("a,,b", "x" * 65, "a,*"):
        with pytest.raises(ValidationError, match="route_sites"):
            Settings(route_sites=bad)
    with pytest.raises(ValidationError):
        Settings(site_preference_margin=-1)
