"""docker-compose.yml: it validates, and `up` brings up a swarm that answers for both models."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.images import dockerctl
from tests.images.conftest import GEMMA, SMOL
from tests.nodeproc import free_port

pytestmark = [pytest.mark.docker]

COMPOSE_FILE = dockerctl.ROOT / "docker-compose.yml"
NODES = ("bootstrap", "inference1", "inference2")


def compose(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    cmd = [*dockerctl.compose_cmd(), *args]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, env={**os.environ, **(env or {})}
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def test_compose_config_validates(engine: None) -> None:
    out = compose("-f", str(COMPOSE_FILE), "config")
    services = compose("-f", str(COMPOSE_FILE), "config", "--services").split()
    assert sorted(services) == sorted(["models", *NODES])
    for name in NODES:
        assert f"ADVERTISE_HOST: {name}" in out
    assert out.count("BOOTSTRAP_NODES: bootstrap:8001") == 2
    assert "MODEL_PATH: gemma3-270m" in out and out.count("MODEL_PATH: smollm2-135m") == 2
    assert "service_completed_successfully" in out


class Project:
    """A compose project of its own (name, ports, volume) with the host's models mounted read-only."""

    def __init__(self, image_tag: str, models_dir: str, workdir: Path) -> None:
        run_id = uuid.uuid4().hex[:8]
        self.name = f"llamanet-test-{run_id}"
        self.port = free_port()
        self.env = {
            "TAG": image_tag,
            "LLAMANET_PORT": str(self.port),
            "LLAMANET_DHT_PORT": str(free_port()),
            "LLAMANET_PORT_1": str(free_port()),
            "LLAMANET_PORT_2": str(free_port()),
            "LLAMANET_MODELS_VOLUME": f"{self.name}-models",
        }
        fast = {"HEARTBEAT_INTERVAL": "2", "N_THREADS": "1"}
        services: dict[str, dict[str, object]] = {"models": {"volumes": [f"{models_dir}:/models:ro"]}}
        for name in NODES:
            services[name] = {"volumes": [f"{models_dir}:/models:ro"], "environment": fast}
        override = {"services": services}
        self.override = workdir / "compose.override.json"  # JSON is YAML
        self.override.write_text(json.dumps(override))

    def __call__(self, *args: str, timeout: float = 300) -> str:
        files = ["-f", str(COMPOSE_FILE), "-f", str(self.override)]
        return compose("-p", self.name, *files, *args, env=self.env, timeout=timeout)

    def log_sections(self) -> list[tuple[str, str]]:
        try:
            return [("docker compose logs", self("logs", "--no-color", "--tail", "60"))]
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return [("docker compose logs", str(exc))]


@pytest.fixture(scope="module")
def project(node_image: str, models_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    proj = Project(node_image.rsplit(":", 1)[1], models_dir, tmp_path_factory.mktemp("compose"))
    try:
        proj("up", "-d", "--no-build")
        yield proj
    finally:
        proj("down", "-v", "--remove-orphans", "-t", "10")


@pytest.mark.slow
def test_compose_up_serves_both_models_through_the_bootstrap(project: Project) -> None:
    url = f"http://127.0.0.1:{project.port}"
    deadline = time.monotonic() + 240
    seen: set[str] = set()
    while time.monotonic() < deadline and not {SMOL, GEMMA} <= seen:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            seen = {m["id"] for m in httpx.get(f"{url}/v1/models", timeout=5).json()["data"]}
        time.sleep(1)
    assert {SMOL, GEMMA} <= seen, f"bootstrap sees {sorted(seen)}"
    for model in (SMOL, GEMMA):
        body = {"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi!"}]}
        resp = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=120)
        assert resp.status_code == 200, resp.text
        assert resp.json()["usage"]["completion_tokens"] > 0
