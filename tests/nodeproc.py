"""Real node processes for integration tests: start, wait until healthy, stop, show logs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from llamanet_common.identity import NodeIdentity


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class NodeProcess:
    def __init__(
        self, model: str, log_dir: Path, *extra: str, name: str = "node", env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.dht_port = free_port(socket.SOCK_DGRAM)
        self.log_path = log_dir / f"{name}-{self.port}.log"
        # its key, so that tests can publish records the node's URL proves (``identity``)
        self.key_path = log_dir / f"{name}-{self.port}.key"
        keyed = () if "--node-key-file" in extra else ("--node-key-file", str(self.key_path))
        self.args = [
            sys.executable,
            "-m",
            "llamanet",
            "node",
            "--model-path",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dht-port",
            str(self.dht_port),
            *keyed,
            *extra,
        ]
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def identity(self) -> NodeIdentity:
        """The node's key (made now if the node has not started yet)."""
        return NodeIdentity.load_or_create(self.key_path)

    def start(self, timeout: float = 180.0) -> NodeProcess:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"node not healthy after {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """``kill -9``: no clean shutdown, no withdrawal from the swarm."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self, timeout: float = 180.0) -> NodeProcess:
        self.stop()
        return self.start(timeout)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])
