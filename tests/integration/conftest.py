"""Fixtures for tests against real node processes serving real models."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llamanet.models.cache import ModelCache
from llamanet.models.gguf import read_gguf
from llamanet.models.pull import pull
from llamanet.settings import Settings
from tests.nodeproc import NodeProcess
from tests.toolmodel import tools_model

SMOL, GEMMA = "smollm2-135m", "gemma3-270m"
TOOLS = "smollm2-tools"  # SmolLM2 with a tools-aware chat template (``tests.toolmodel``)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def model_cache() -> ModelCache:
    cache = ModelCache(Settings().models_dir)
    for name in (SMOL, GEMMA):
        if cache.find(name) is None:
            pull(name, cache)
    return cache


@pytest.fixture(scope="session")
def node_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-logs")


class Nodes:
    """Starts nodes for a test scope, stops them after, and prints their logs if anything failed."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[NodeProcess] = []

    def start(self, model: str, *extra: str, name: str = "node", wait: bool = True) -> NodeProcess:
        node = NodeProcess(model, self.logs, *extra, name=name)
        self.started.append(node)
        return node.start() if wait else node

    def stop_all(self, failed: bool) -> None:
        for node in self.started:
            node.stop()
            if failed:
                print(f"\n----- log of {node.log_path.name} -----\n{node.log_tail(80)}")


@pytest.fixture(scope="session")
def session_nodes(
    node_logs: Path, request: pytest.FixtureRequest, model_cache: ModelCache
) -> Iterator[Nodes]:
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    yield nodes
    nodes.stop_all(request.session.testsfailed > failed_before)


@pytest.fixture
def nodes(node_logs: Path, request: pytest.FixtureRequest, model_cache: ModelCache) -> Iterator[Nodes]:
    n = Nodes(node_logs)
    yield n
    rep = getattr(request.node, "rep_call", None)
    n.stop_all(rep is None or rep.failed)


@pytest.fixture(scope="session")
def smol(session_nodes: Nodes) -> NodeProcess:
    return session_nodes.start(SMOL, "--n-ctx", "1024", "--n-parallel", "8", name="smol")


@pytest.fixture(scope="session")
def gemma(session_nodes: Nodes) -> NodeProcess:
    return session_nodes.start(GEMMA, "--n-ctx", "1024", "--n-parallel", "2", name="gemma")


@pytest.fixture(scope="session")
def tool_swarm(
    session_nodes: Nodes, model_cache: ModelCache, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """``tools``: SmolLM2 with a tools-aware template, as ``TOOLS``; ``generic``: SmolLM2 with its own
    template (no tools), the swarm entry the tools node joined; ``smol_template``: that template."""
    smol = model_cache.find(SMOL)
    assert smol is not None
    path = tools_model(smol.path, tmp_path_factory.mktemp("tools-model"))
    args = ("--n-ctx", "1024", "--n-parallel", "2", "--heartbeat-interval", "1")
    generic = session_nodes.start(SMOL, *args, name="tools-generic")
    joined = ("--bootstrap-nodes", f"127.0.0.1:{generic.dht_port}")
    tools = session_nodes.start(str(path), *args, "--model-name", TOOLS, *joined, name="tools")
    deadline = time.monotonic() + 60  # liveness bound for a loaded machine
    while TOOLS not in {m["id"] for m in httpx.get(f"{generic.url}/v1/models", timeout=10).json()["data"]}:
        assert time.monotonic() < deadline, "the generic node never learnt of the tools node"
        time.sleep(0.2)
    return {
        "generic": generic.url,
        "tools": tools.url,
        "smol_template": read_gguf(smol.path).chat_template or "",
    }
