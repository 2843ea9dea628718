"""The node image as a swarm: three containers on a user-defined network, two models among them.

Models come from the host cache, mounted read-only at /models (no downloads in containers). Containers
reach each other by name on the test network; the tests reach them only through ports published on
127.0.0.1.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.images import dockerctl
from tests.images.conftest import GEMMA, SMOL
from tests.nodeproc import free_port

pytestmark = [pytest.mark.docker, pytest.mark.slow]


class Container:
    def __init__(self, name: str, model: str) -> None:
        self.name = name
        self.model = model
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Swarm:
    """Three node containers and their network; removed on teardown, even after a failed setup."""

    def __init__(self, image: str, models_dir: str) -> None:
        self.image = image
        self.models_dir = models_dir
        run_id = uuid.uuid4().hex[:8]
        self.network = f"llamanet-test-{run_id}"
        self.nodes = [
            Container(f"llamanet-test-{run_id}-boot", SMOL),
            Container(f"llamanet-test-{run_id}-smol", SMOL),
            Container(f"llamanet-test-{run_id}-gemma", GEMMA),
        ]

    def start(self) -> None:
        dockerctl.docker("network", "create", self.network)
        boot = self.nodes[0]
        for node in self.nodes:
            env = {
                "MODEL_PATH": node.model,
                "NODE_ID": node.name.rsplit("-", 1)[1],
                "ADVERTISE_HOST": node.name,
                "HEARTBEAT_INTERVAL": "2",
                "N_THREADS": "1",
                "N_PARALLEL": "2",
            }
            if node is not boot:
                env["BOOTSTRAP_NODES"] = f"{boot.name}:8001"
            args = ["run", "-d", "--name", node.name, "--network", self.network]
            args += ["-p", f"127.0.0.1:{node.port}:8000", "-v", f"{self.models_dir}:/models:ro"]
            args += ["--health-interval", "2s", "--health-timeout", "5s", "--health-retries", "3"]
            args += ["--health-start-period", "60s"]
            for key, value in env.items():
                args += ["-e", f"{key}={value}"]
            dockerctl.docker(*args, self.image)
        for node in self.nodes:
            dockerctl.wait_healthy(node.name)

    def wait_for_models(self, node: Container, models: set[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while time.monotonic() < deadline:
            try:
                data = httpx.get(f"{node.url}/v1/models", timeout=5).json()
                seen = {m["id"] for m in data["data"]}
                if models <= seen:
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(1)
        raise AssertionError(f"{node.name} sees models {sorted(seen)}, wanted {sorted(models)}")

    def log_sections(self) -> list[tuple[str, str]]:
        return [(f"docker logs {n.name}", dockerctl.logs(n.name)) for n in self.nodes]

    def remove(self) -> None:
        for node in self.nodes:
            dockerctl.docker("rm", "-f", "-v", node.name, check=False)
        dockerctl.docker("network", "rm", self.network, check=False)


@pytest.fixture(scope="module")
def swarm(node_image: str, models_dir: str) -> Iterator[Swarm]:
    swarm = Swarm(node_image, models_dir)
    try:
        try:
            swarm.start()
        except Exception as exc:
            logs = "\n".join(f"----- {title} -----\n{text}" for title, text in swarm.log_sections())
            raise RuntimeError(f"swarm did not start: {exc}\n{logs}") from exc
        yield swarm
    finally:
        swarm.remove()


def chat(base_url: str, model: str) -> tuple[str, str | None]:
    """One short chat through the OpenAI SDK: (answer, forwarded-to node id or None when served here)."""
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", timeout=120, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model=model, max_tokens=8, temperature=0, messages=[{"role": "user", "content": "Say hello."}]
    )
    completion = raw.parse()
    assert completion.model == model
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    return completion.choices[0].message.content or "", raw.headers.get("x-llamanet-node")


def node_id(node: Container) -> str:
    data = httpx.get(f"{node.url}/health", timeout=5).json()
    value: str = data["node_id"]
    return value


def test_health_checks_pass(swarm: Swarm) -> None:
    for node in swarm.nodes:
        state = dockerctl.inspect(node.name)["State"]
        assert state["Health"]["Status"] == "healthy", state["Health"]
        assert state["Health"]["Log"][-1]["ExitCode"] == 0


def test_image_runs_as_non_root_without_compiler(node_image: str, swarm: Swarm) -> None:
    user = dockerctl.docker("exec", swarm.nodes[0].name, "id", "-u").strip()
    assert user != "0"
    which = dockerctl.docker(
        "run", "--rm", "--entrypoint", "sh", node_image, "-c", "command -v gcc cc g++ cmake || true"
    )
    assert which.strip() == ""
    vendor = dockerctl.docker("exec", swarm.nodes[0].name, "python3", "-c", _VENDOR_CHECK).split()
    assert {"marked.esm.js", "purify.es.js", "highlight.min.js"} <= set(vendor)


_VENDOR_CHECK = (
    "import llamanet, pathlib; "
    "print(*sorted(p.name for p in (pathlib.Path(llamanet.__file__).parent / 'web/static/vendor').iterdir()))"
)


def test_openai_sdk_gets_both_models_through_one_container(swarm: Swarm) -> None:
    boot, _, gemma = swarm.nodes
    swarm.wait_for_models(boot, {SMOL, GEMMA})
    _, smol_by = chat(boot.url, SMOL)
    _, gemma_by = chat(boot.url, GEMMA)
    assert smol_by is None  # served by the bootstrap container itself
    assert gemma_by == node_id(gemma)  # forwarded across the docker network
    page = httpx.get(boot.url, timeout=5)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_requests_still_served_after_a_container_stops(swarm: Swarm) -> None:
    boot, smol, gemma = swarm.nodes
    swarm.wait_for_models(smol, {SMOL, GEMMA})
    dockerctl.docker("stop", "-t", "10", boot.name)  # the bootstrap node goes away
    assert dockerctl.health(boot.name).startswith("exited")
    _, smol_by = chat(smol.url, SMOL)
    assert smol_by is None
    # the remaining nodes may need a heartbeat or two (2 s here) to settle their view of the swarm
    deadline = time.monotonic() + 30
    while True:
        try:
            _, gemma_by = chat(smol.url, GEMMA)
            break
        except openai.APIStatusError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert gemma_by == node_id(gemma)


def test_image_metadata(node_image: str) -> None:
    config = dockerctl.inspect(node_image)["Config"]
    assert set(config["ExposedPorts"]) == {"8000/tcp", "8001/udp"}
    assert config["User"] == "llamanet"
    assert "/models" in config["Volumes"]
    assert "MODELS_DIR=/models" in config["Env"]
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    baked = dockerctl.docker("run", "--rm", "--entrypoint", "sh", node_image, "-c", "ls -A /models")
    assert baked.strip() == ""  # no model in the image
