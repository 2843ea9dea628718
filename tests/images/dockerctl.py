"""The docker CLI for the image tests: run commands, build images, start and inspect containers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "artifacts" / "images"
TAG = "test"


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def compose_cmd() -> list[str]:
    """`docker compose` (the plugin) if present, else Debian's `docker-compose` v1."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    exe = shutil.which("docker-compose")
    if exe is None:
        raise RuntimeError("neither `docker compose` nor `docker-compose` is installed (make docker)")
    return [exe]


def ensure_engine() -> None:
    """The engine and the base image (both scripts are idempotent and quick when all is there)."""
    for script in ("scripts/docker-engine.sh", "images/make-base.sh"):
        proc = subprocess.run([str(ROOT / script)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def build(name: str) -> str:
    """Build llamanet/NAME:test with images/build.sh; output in artifacts/images/NAME.log."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / "images" / "build.sh"), name],
        env={**os.environ, "TAG": TAG, "LOG_DIR": str(LOG_DIR)},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    progress = LOG_DIR / f"{name}.progress.log"
    progress.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"building {name} failed; {progress}:\n{(proc.stdout + proc.stderr)[-4000:]}")
    print(f"built llamanet/{name}:{TAG} in {time.monotonic() - started:.0f}s")
    return f"llamanet/{name}:{TAG}"


def inspect(container: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads(docker("inspect", container))
    return data[0]


def health(container: str) -> str:
    state = inspect(container)["State"]
    status: str = state.get("Health", {}).get("Status", "none")
    if not state.get("Running", False):
        return f"exited({state.get('ExitCode')})"
    return status


def wait_healthy(container: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        status = health(container)
        if status == "healthy":
            return
        if status.startswith("exited"):
            break
        time.sleep(1)
    raise RuntimeError(f"{container} not healthy ({status}):\n{logs(container)}")


def logs(container: str, tail: int = 80) -> str:
    proc = subprocess.run(
        ["docker", "logs", "--tail", str(tail), container], capture_output=True, text=True, check=False
    )
    return proc.stdout + proc.stderr
