import pytest
from pydantic import ValidationError

from llamanet.cli.main import build_parser, settings_from
from llamanet.settings import Settings


def test_prefix_routing_defaults_flags_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert (s.prefix_routing, s.prefix_min_chars, s.prefix_load_bound) == (True, 512, 0.25)
    flags = ["node", "--prefix-routing", "off", "--prefix-min-chars", "2000", "--prefix-load-bound", "1.5"]
    s = settings_from(build_parser().parse_args(flags))
    assert (s.prefix_routing, s.prefix_min_chars, s.prefix_load_bound) == (False, 2000, 1.5)
    monkeypatch.setenv("PREFIX_ROUTING", "false")
    monkeypatch.setenv("PREFIX_LOAD_BOUND", "0.5")
    assert (Settings().prefix_routing, Settings().prefix_load_bound) == (False, 0.5)


def test_bad_prefix_settings_are_refused_at_start() -> None:
    for bad in ({"prefix_min_chars": 0}, {"prefix_load_bound": -0.1}, {"prefix_routing": "maybe"}):
        with pytest.raises(ValidationError):
            Settings(**bad)  # type: ignore[arg-type]


def test_prefix_cache_is_on_by_default_and_switches_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().prefix_cache is True
    s = settings_from(build_parser().parse_args(["node", "--prefix-cache", "off"]))
    assert s.prefix_cache is False
    monkeypatch.setenv("PREFIX_CACHE", "off")
    assert Settings().prefix_cache is False
