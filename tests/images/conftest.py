"""Fixtures of the container tests: a running engine, the base image, and images built from this tree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llamanet.models.cache import ModelCache
from llamanet.models.pull import pull
from llamanet.settings import Settings
from tests.images import dockerctl

SMOL, GEMMA = "smollm2-135m", "gemma3-270m"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's report gets the logs of the containers it used (fixtures with `log_sections`)."""
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    if rep.failed:
        for value in getattr(item, "funcargs", {}).values():
            sections = getattr(value, "log_sections", None)
            if callable(sections):
                for title, text in sections():
                    rep.sections.append((title, text))


@pytest.fixture(scope="session")
def engine() -> None:
    dockerctl.ensure_engine()


@pytest.fixture(scope="session")
def models_dir() -> str:
    """The host's model cache with both test models; mounted read-only at /models."""
    cache = ModelCache(Settings().models_dir)
    for name in (SMOL, GEMMA):
        if cache.find(name) is None:
            pull(name, cache)
    return str(cache.root)


@pytest.fixture(scope="session")
def node_image(engine: None) -> str:
    return dockerctl.build("node")


@pytest.fixture(scope="session")
def operator_image(engine: None) -> str:
    return dockerctl.build("operator")
