"""The operator's reading of a node's /metrics: the series it needs, nothing a hostile pod can inflate."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llamanet.engine.stats import EngineStats
from llamanet.metrics import NodeMetrics
from llamanet_common.identity import NodeIdentity
from llamanet_operator.kube import Kube
from llamanet_operator.scrape import MAX_MODELS, NodeSample, parse_metrics


def test_parses_the_real_nodes_exposition() -> None:
    # the node's own registry, rendered as its /metrics route does
    metrics = NodeMetrics(lambda: EngineStats(4, 3, 5, 12.5, 100, 7))
    metrics.observe_swarm({"smollm2-135m": ["a", "b"], "gemma3-270m": ["c"]})
    sample = parse_metrics(metrics.render().decode())
    assert sample == NodeSample(
        queue_depth=5,
        slots_busy=3,
        slots_total=4,
        swarm_nodes=3,
        models=["gemma3-270m", "smollm2-135m"],
        cert_not_after=0,  # no certificate its authorities accept
    )


def test_reads_the_nodes_public_key_and_certificate_end() -> None:
    """What the operator's swarm authority certifies (the key) and counts (the chain's end)."""
    identity = NodeIdentity.generate()
    metrics = NodeMetrics(lambda: EngineStats(1, 0, 0, 0.0, 0, 0))
    metrics.observe_identity(identity.node_id, identity.public_key_hex)
    metrics.cert_not_after.set(1_800_000_123)
    sample = parse_metrics(metrics.render().decode())
    assert sample is not None
    assert sample.public_key == identity.public_key_hex and sample.cert_not_after == 1_800_000_123
    other = NodeIdentity.generate()
    metrics.observe_identity(identity.node_id, other.public_key_hex)  # an id that is not the key's
    sample = parse_metrics(metrics.render().decode())
    assert sample is not None and sample.public_key is None
    for bad in ("NaN", "-1", "1e300", "soon"):
        text = f"llamanet_slots_total 1\nllamanet_swarm_cert_not_after {bad}\n"
        assert parse_metrics(text) == NodeSample(slots_total=1), bad
    old_node = parse_metrics("llamanet_slots_total 1\n")
    assert old_node is not None and (old_node.public_key, old_node.cert_not_after) == (None, None)


def test_other_answers_are_no_sample() -> None:
    assert parse_metrics("") is None
    assert parse_metrics("<html>not metrics</html>") is None
    assert parse_metrics("llamanet_queue_depth 3\n") is None  # no slots gauge: not a node


def test_hostile_values_are_ignored() -> None:
    text = "\n".join(
        [
            "llamanet_slots_total 2",
            "llamanet_queue_depth NaN",
            "llamanet_slots_busy -4",
            "llamanet_swarm_nodes 1e300",
            'llamanet_slots_total{model="x"} 99',
            *(f'llamanet_swarm_model_nodes{{model="m{i}"}} 1' for i in range(500)),
            'llamanet_swarm_model_nodes{model="gone"} 0',
        ]
    )
    sample = parse_metrics(text)
    assert sample is not None
    assert (sample.slots_total, sample.queue_depth, sample.slots_busy, sample.swarm_nodes) == (2, 0, 0, None)
    assert len(sample.models) == MAX_MODELS and "gone" not in sample.models


class _Big(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/trickle":
            self._trickle()
            return
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/small")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = 4096 if self.path == "/small" else 10 * 1024 * 1024
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < size:
                self.wfile.write(chunk[: size - sent])
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _trickle(self) -> None:
        """20 bytes, one every 0.2 s: each read is quick, the whole answer is not."""
        self.send_response(200)
        self.send_header("Content-Length", "20")
        self.end_headers()
        try:
            for _ in range(20):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Big)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_reads_are_size_capped(server: str) -> None:
    # a generous deadline (a loaded 2-core CI machine): only the size cap may refuse these reads
    kube = Kube("test", http_timeout=60.0)
    assert kube.get_text(f"{server}/small", max_bytes=1024 * 1024) == "x" * 4096
    assert kube.get_text(f"{server}/big", max_bytes=1024 * 1024) is None
    assert kube.get_text("http://127.0.0.1:1/metrics", max_bytes=1024) is None


def test_a_trickling_or_redirecting_node_gives_nothing(server: str) -> None:
    kube = Kube("test", http_timeout=1.0)
    assert kube.get_text(f"{server}/trickle", max_bytes=1024) is None
    assert kube.get_text(f"{server}/redirect", max_bytes=1024) is None
    # the same 4 s answer within a generous deadline is read whole (liveness bound for a loaded machine)
    assert Kube("test", http_timeout=60.0).get_text(f"{server}/trickle", max_bytes=1024) == "x" * 20
