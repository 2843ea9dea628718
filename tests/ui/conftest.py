"""Web UI tests: Debian's Chromium (headless, driven by Playwright) against real node processes.

No browser is downloaded: ``make browser`` installs Debian's ``chromium`` when /usr/bin/chromium is
missing. Screenshots go to ``artifacts/ui/`` (gitignored). Every page is watched for requests that leave
the node (the UI must work air-gapped) and for uncaught script errors.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.integration import conftest as shared
from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.nodeproc import NodeProcess

# the real-node fixtures and the failure-report hook of the integration tests, shared
model_cache = shared.model_cache
node_logs = shared.node_logs
session_nodes = shared.session_nodes
nodes = shared.nodes
pytest_runtest_makereport = shared.pytest_runtest_makereport

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
# small and quick: one CPU thread each (the suite shares the machine), short DHT heartbeats
NODE_ARGS = ("--n-ctx", "1024", "--n-threads", "1", "--heartbeat-interval", "2")


def node_args(*extra: str, parallel: int = 1, seed: NodeProcess | None = None) -> list[str]:
    args = [*NODE_ARGS, "--n-parallel", str(parallel), *extra]
    if seed is not None:
        args += ["--bootstrap-nodes", f"127.0.0.1:{seed.dht_port}"]
    return args


def swarm_ids(node: NodeProcess) -> set[str]:
    body = httpx.get(f"{node.url}/swarm/nodes", timeout=5).json()
    return {n["node_id"] for n in body["nodes"]}


def dht_id(node: NodeProcess) -> str:
    node_id: str = httpx.get(f"{node.url}/dht/status", timeout=5).json()["node_id"]
    return node_id


def wait_for(predicate: object, timeout: float = 30.0, what: str = "condition") -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Swarm:
    smol: NodeProcess  # the node whose page the tests open
    gemma: NodeProcess


@pytest.fixture(scope="session")
def swarm(session_nodes: Nodes) -> Swarm:
    smol = session_nodes.start(SMOL, *node_args(parallel=2), name="ui-smol")
    gemma = session_nodes.start(GEMMA, *node_args(seed=smol), name="ui-gemma")
    want = {dht_id(smol), dht_id(gemma)}
    wait_for(lambda: swarm_ids(smol) >= want, what="both nodes in the swarm view")
    return Swarm(smol, gemma)


@pytest.fixture(scope="package")  # Playwright's sync API runs an event loop: stop it before other tests
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's Chromium is missing: run `make browser`"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class Watch:
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, watch: Watch, request: pytest.FixtureRequest) -> Iterator[Page]:
    # bypass_csp: Playwright's wait_for_function needs eval, which the page's CSP forbids; it also makes
    # the XSS checks prove the sanitizer alone (the CSP header is checked on its own)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.on(
        "request",
        lambda r: None if r.url.startswith(("http://127.0.0.1:", "data:")) else watch.outside.append(r.url),
    )
    pg.on("pageerror", lambda e: watch.errors.append(str(e)))
    yield pg
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
    finally:
        context.close()
    assert not watch.outside, f"the page made requests outside the node: {watch.outside}"
    assert not watch.errors, f"uncaught errors in the page: {watch.errors}"


def open_ui(page: Page, node: NodeProcess, models: int = 1) -> None:
    """Open the UI on ``node`` and wait until the scripts ran and the model picker is filled."""
    page.goto(node.url)
    page.wait_for_selector("html[data-ready=true]", state="attached")
    page.wait_for_function(f"document.querySelectorAll('#model option').length >= {models}")


def shot(page: Page, name: str, full_page: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
