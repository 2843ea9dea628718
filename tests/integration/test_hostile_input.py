"""Issue 16: a real node (API key set) under hostile input answers a clear OpenAI-shaped 4xx and stays
live: ``/health`` keeps answering within 1 s while the hostile request runs, and memory stays bounded.

Hostile traffic comes from 127.0.0.2 and the liveness probe from 127.0.0.1, so the per-address
connection cap that the slow-client cases hit never counts the probe.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess
from tests.swarmrecords import RecordSwarm

pytestmark = [pytest.mark.model, pytest.mark.timeout(300)]

KEY = "hostile-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
HOSTILE_ADDR = "127.0.0.2"
MIB = 1024 * 1024
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def target(session_nodes: Nodes, tmp_path_factory: pytest.TempPathFactory) -> NodeProcess:
    key_file = tmp_path_factory.mktemp("key") / "api-key"
    key_file.write_text(KEY)
    return session_nodes.start(
        SMOL,
        *("--n-ctx", "1024", "--n-parallel", "2", "--api-key-file", str(key_file)),
        *("--header-timeout", "2", "--body-timeout", "3", "--max-connections-per-client", "32"),
        *("--heartbeat-interval", "1", "--max-held-body-bytes", str(32 * MIB)),
        name="hostile",
    )


def rss(node: NodeProcess) -> int:
    assert node.proc is not None
    with open(f"/proc/{node.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@dataclass
class Liveness:
    worst_s: float = 0.0
    failures: int = 0
    probes: int = 0
    peak_rss: int = 0


@contextmanager
def live(node: NodeProcess) -> Iterator[Liveness]:
    """Probe ``/health`` every 50 ms (and sample RSS) while the body runs; once before, once after."""
    seen = Liveness(peak_rss=rss(node))
    done = threading.Event()
    client = httpx.Client(base_url=node.url, timeout=10)

    def probe_once() -> None:
        start = time.monotonic()
        try:
            ok = client.get("/health").status_code == 200
        except httpx.HTTPError:
            ok = False
        seen.worst_s = max(seen.worst_s, time.monotonic() - start)
        seen.failures += not ok
        seen.probes += 1
        seen.peak_rss = max(seen.peak_rss, rss(node))

    def probe() -> None:
        while not done.wait(0.05):
            probe_once()

    probe_once()
    thread = threading.Thread(target=probe)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join()
        probe_once()
        client.close()


def assert_live(seen: Liveness, base_rss: int) -> None:
    # liveness bounds, not speed targets: before the fix /health stalled 5 to 20 s and RSS grew by GBs
    assert seen.probes > 0 and seen.failures == 0, seen
    assert seen.worst_s < 1.0, f"/health took {seen.worst_s:.2f} s during the hostile request"
    assert seen.peak_rss - base_rss < 256 * MIB, f"RSS grew {(seen.peak_rss - base_rss) / MIB:.0f} MiB"


def hostile_client(node: NodeProcess, **kw: Any) -> httpx.Client:
    return httpx.Client(
        base_url=node.url,
        headers=AUTH,
        timeout=120,
        transport=httpx.HTTPTransport(local_address=HOSTILE_ADDR),
        **kw,
    )


def openai_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text[:300])
    err: dict[str, Any] = r.json()["error"]
    assert isinstance(err["message"], str) and err["message"] and isinstance(err["type"], str)
    assert len(r.content) < 2048, "an error never echoes unbounded input"
    return err


def hostile(node: NodeProcess, send: Any) -> httpx.Response:
    """``send(client)`` from the hostile address while ``/health`` is watched."""
    base = rss(node)
    with live(node) as seen, hostile_client(node) as client:
        r: httpx.Response = send(client)
    assert_live(seen, base)
    return r


def test_huge_repetition_count_in_a_schema(target: NodeProcess) -> None:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 20_000_000}
    body = {"messages": MESSAGES, "max_tokens": 4, "response_format": {"type": "json_schema",
            "json_schema": {"name": "x", "schema": schema}}}  # fmt: skip
    for path, extra in (("/v1/chat/completions", {}), ("/v1/completions", {"prompt": "x"})):
        payload = {**body, **extra}
        if "prompt" in extra:
            del payload["messages"]
        err = openai_error(hostile(target, lambda c, p=payload, u=path: c.post(u, json=p)), 400)
        assert "minItems" in err["message"] and "max_repeat" in err["message"]
        assert err["code"] == "schema_too_complex" and err["param"] == "response_format"


def test_chunked_body_over_the_limit_is_cut_at_the_limit(target: NodeProcess) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(50):
            yield b"a" * MIB

    def send(c: httpx.Client) -> httpx.Response:
        try:
            return c.post(
                "/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"}
            )
        except httpx.WriteError as exc:  # the node answered and closed while the client was still sending
            pytest.fail(f"no 413 read back: {exc}")

    start = time.monotonic()
    err = openai_error(hostile(target, send), 413)
    assert err["code"] == "request_too_large"
    assert time.monotonic() - start < 20


def test_a_large_prompt_under_the_body_limit_never_blocks_the_loop(target: NodeProcess) -> None:
    prompt = "word " * (8 * MIB // 5 - 100)
    err = openai_error(hostile(target, lambda c: c.post("/v1/completions", json={"prompt": prompt})), 400)
    assert err["code"] == "context_length_exceeded"
    # large but possible: tokenized in the pool, then refused by the real token count
    chat = {"messages": [{"role": "user", "content": "w" * 17_000}], "max_tokens": 2}
    err = openai_error(hostile(target, lambda c: c.post("/v1/chat/completions", json=chat)), 400)
    assert err["code"] == "context_length_exceeded" and "tokens" in err["message"]


def test_the_ollama_and_responses_routes_refuse_a_prompt_too_long_the_same_way(target: NodeProcess) -> None:
    long_text = "w" * 17_000  # tokenized in the pool (a large body), then refused by its token count
    r = hostile(target, lambda c: c.post("/api/chat", json={"model": SMOL, "messages": [
        {"role": "user", "content": long_text}], "stream": False}))  # fmt: skip
    assert r.status_code == 400 and "tokens" in r.json()["error"], r.text[:300]
    r = hostile(target, lambda c: c.post("/v1/responses", json={"input": long_text, "max_output_tokens": 2}))
    assert openai_error(r, 400)["code"] == "context_length_exceeded"


def test_huge_model_names_are_refused_short_and_cost_no_memory(target: NodeProcess) -> None:
    name = "m" * MIB
    with hostile_client(target) as c:
        c.post("/v1/chat/completions", json={"messages": MESSAGES, "model": name})  # warm the allocator
        before = rss(target)
        for i in range(150):
            r = c.post("/v1/chat/completions", json={"messages": MESSAGES, "model": f"{i}{name}"})
            err = openai_error(r, 400)
            assert err["param"] == "model"
        err = openai_error(c.get(f"/v1/models/{'n' * 60_000}"), 404)
        assert len(err["message"]) < 1200
        openai_error(c.get("/v1/models", headers={"x-pad": "p" * 70_000}), 431)
    assert rss(target) - before < 32 * MIB


def test_lone_surrogate_and_huge_logit_bias_key_are_400s_and_the_connection_stays(
    target: NodeProcess,
) -> None:
    bodies = [
        b'{"messages": [{"role": "user", "content": "\\ud800"}], "max_tokens": 2}',
        b'{"prompt": "a\\udfffb", "max_tokens": 2}',
        json.dumps({"messages": MESSAGES, "max_tokens": 2, "logit_bias": {"9" * 5000: 1}}).encode(),
        json.dumps({"prompt": "x", "max_tokens": 2, "logit_bias": {"1" * 5000: 1}}).encode(),
    ]
    paths = ["/v1/chat/completions", "/generate", "/v1/chat/completions", "/v1/completions"]
    with socket.create_connection(("127.0.0.1", target.port), source_address=(HOSTILE_ADDR, 0)) as s:
        reader = s.makefile("rb")
        for path, body in zip(paths, bodies, strict=True):
            head = (
                f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            s.sendall(head.encode() + body)  # all on one keep-alive connection
            status = reader.readline().split()[1]
            headers = {}
            while (line := reader.readline().strip()) != b"":
                k, _, v = line.decode().partition(":")
                headers[k.lower()] = v.strip()
            payload = json.loads(reader.read(int(headers["content-length"])))
            assert status == b"400", payload
            assert headers.get("connection") != "close"
            assert payload["error"]["type"] == "invalid_request_error"
            assert len(payload["error"]["message"]) < 300


def read_to_close(s: socket.socket, deadline: float) -> bytes:
    data = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_slow_clients_are_timed_out_capped_per_address_and_never_starve_others(target: NodeProcess) -> None:
    base = rss(target)
    held: list[socket.socket] = []
    with live(target) as seen:
        for i in range(200):  # past the cap of 32 per address: the rest are refused as their requests come in
            s = socket.create_connection(("127.0.0.1", target.port), source_address=(HOSTILE_ADDR, 0))
            if i % 2:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            else:
                s.sendall(
                    b"POST /generate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode()
                    + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"prompt\""
                )  # fmt: skip
            held.append(s)
        # over the per-address cap: a clear 503 with Retry-After, as soon as the request is in
        extra = socket.create_connection(("127.0.0.1", target.port), source_address=(HOSTILE_ADDR, 0))
        extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = extra.recv(4096).decode()
        extra.close()
        # every holder is answered (408 once its deadline passes, or 503 past the cap) and dropped
        deadline = time.monotonic() + 10
        answers = []
        for s in held:
            answers.append(read_to_close(s, deadline).decode(errors="replace"))
            s.close()
    assert answer.startswith("HTTP/1.1 503"), answer
    assert "retry-after: " in answer.lower() and "max_connections_per_client" in answer
    statuses = [a.split(" ", 2)[1] if a.startswith("HTTP/1.1 ") else a[:40] for a in answers]
    assert set(statuses) <= {"408", "503"}, statuses
    assert statuses.count("408") >= 30 and all('"error"' in a for a in answers)
    assert_live(seen, base)
    with hostile_client(target) as c:  # the address is served again once its connections are gone
        assert c.get("/health").status_code == 200


@pytest.mark.slow
def test_dht_status_survives_an_expired_entry(target: NodeProcess, nodes: Nodes) -> None:
    peer = nodes.start(
        SMOL, "--n-ctx", "256", "--n-parallel", "1", "--heartbeat-interval", "1",
        "--bootstrap-nodes", f"127.0.0.1:{target.dht_port}", name="peer",
    )  # fmt: skip
    with httpx.Client(base_url=target.url, headers=AUTH, timeout=10) as c:
        deadline = time.monotonic() + 60
        while len(c.get("/swarm/nodes").json()["nodes"]) < 2:
            assert time.monotonic() < deadline, "the peer never showed up"
            time.sleep(0.5)
        peer.kill()  # no withdrawal: its entries expire in the target's store (3 heartbeats)
        for _ in range(20):  # its entries expire 3 s after its last heartbeat
            r = c.get("/dht/status")
            assert r.status_code == 200, r.text[:300]
            time.sleep(0.5)


async def test_status_strips_escape_codes_from_peer_strings() -> None:
    swarm = await RecordSwarm().start()
    try:
        await swarm.publish(
            "http://127.0.0.1:9101", "tiny\x1b[2J", "alpha\x1b]0;owned\x07", site="lab\x1b[31m"
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "llamanet", "status", swarm.bootstrap,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    finally:
        await swarm.stop()
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "alpha" in text and "lab[31m" in text
    assert "\x1b" not in text and "\x07" not in text


def test_ten_repeats_of_each_hostile_request_grow_rss_by_less_than_32_mib(target: NodeProcess) -> None:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 20_000_000}
    fmt = {"type": "json_schema", "json_schema": {"schema": schema}}

    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(12):
            yield b"a" * MIB

    cases: list[tuple[str, dict[str, Any]]] = [
        ("/v1/chat/completions", {"json": {"messages": MESSAGES, "response_format": fmt}}),
        ("/v1/completions", {"content": chunks, "headers": {"content-type": "application/json"}}),
        ("/v1/completions", {"json": {"prompt": "word " * (MIB // 5)}}),
        ("/v1/chat/completions", {"json": {"messages": MESSAGES, "model": "m" * MIB}}),
        ("/v1/completions", {"json": {"prompt": "x", "logit_bias": {"9" * 5000: 1}}}),
    ]
    with hostile_client(target) as c:
        for path, kw in cases:  # once each first: allocator arenas and caches warm up
            c.post(path, **{**kw, "content": kw["content"]()} if "content" in kw else kw)
        before = rss(target)
        for _ in range(10):
            for path, kw in cases:
                r = c.post(path, **{**kw, "content": kw["content"]()} if "content" in kw else kw)
                assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])
    assert rss(target) - before < 32 * MIB, f"RSS grew {(rss(target) - before) / MIB:.0f} MiB"


def test_many_large_bodies_at_once_are_bounded_in_memory(target: NodeProcess) -> None:
    body = json.dumps({"prompt": "word " * (7 * MIB // 5)}).encode()
    statuses: list[int] = []
    retry_after: list[str | None] = []

    def one() -> None:
        with hostile_client(target) as c:
            r = c.post("/v1/completions", content=body, headers={"content-type": "application/json"})
            statuses.append(r.status_code)
            retry_after.append(r.headers.get("retry-after"))

    base = rss(target)
    with live(target) as seen:
        threads = [threading.Thread(target=one) for _ in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert_live(seen, base)
    # 30 bodies of 7 MiB at once: at most 32 MiB of them held (about 50 MiB of RSS with their parsing;
    # without the bound, about 190 MiB)
    assert seen.peak_rss - base < 100 * MIB, f"RSS grew {(seen.peak_rss - base) / MIB:.0f} MiB"
    assert set(statuses) <= {400, 503}, statuses
    assert all(ra for st, ra in zip(statuses, retry_after, strict=True) if st == 503)
