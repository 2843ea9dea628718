"""A node process's life in the swarm: SIGTERM withdraws its record at once (a kill -9 does not),
it serves locally while its bootstrap peers are down and joins when they come up, and every
``--chat-format`` starts and serves (a bad one is refused before anything loads)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from llamanet.swarm.config import SwarmConfig
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import NodeRecord
from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.nodeproc import NodeProcess, free_port
from tests.swarmrecords import HOST, eventually

pytestmark = [pytest.mark.model, pytest.mark.slow]
SMALL = ("--n-ctx", "256", "--n-parallel", "1")
BUILTIN_FORMATS = ["transcript", "chatml", "gemma", "llama-3", "llama-2", "phi-3"]


def observer_config() -> SwarmConfig:
    # the peers' default record limits (60 s max TTL), quick RPCs so a dead peer costs little
    return SwarmConfig(heartbeat_interval_s=1.0, rpc_timeout_s=1.0, backoff_initial_s=0.2, backoff_cap_s=1.0)


async def records(observer: SwarmNode) -> dict[str, NodeRecord]:
    return {r.node_id: r for r in await observer.get_nodes()}


def own_id(node: NodeProcess) -> str:
    node_id: str = httpx.get(f"{node.url}/status", timeout=10).json()["node_id"]
    return node_id


async def test_sigterm_withdraws_at_once_but_kill_9_leaves_the_record_to_expire(nodes: Nodes) -> None:
    observer = SwarmNode(NodeIdentity.generate(), observer_config())
    await observer.start(HOST, 0)
    try:
        # a 30 s heartbeat: records live 60 s (the peers' cap), far longer than this test waits
        args = (*SMALL, "--heartbeat-interval", "30", "--bootstrap-nodes", f"{HOST}:{observer.dht_port}")
        leaver = nodes.start(SMOL, *args, name="leaver", wait=False)
        crasher = nodes.start(SMOL, *args, name="crasher", wait=False)
        with ThreadPoolExecutor(2) as pool:  # start both off the event loop, which must answer the DHT
            await asyncio.gather(*(asyncio.wrap_future(pool.submit(n.start)) for n in (leaver, crasher)))
        leaver_id, crasher_id = own_id(leaver), own_id(crasher)

        async def both_seen() -> bool:
            return {leaver_id, crasher_id} <= set(await records(observer))

        await eventually(both_seen, timeout=60)  # liveness bound for a loaded machine
        seen = await records(observer)
        stopped_at = time.monotonic()
        # a clean shutdown (uvicorn re-raises the SIGTERM once it is done), not the SIGKILL fallback
        assert await asyncio.to_thread(leaver.stop) in (0, -signal.SIGTERM)

        async def leaver_gone() -> bool:
            return leaver_id not in await records(observer)

        await eventually(leaver_gone, timeout=30)  # liveness bound
        # gone before its record could have expired: withdrawn, not timed out
        assert time.time() < seen[leaver_id].expires_at
        took = time.monotonic() - stopped_at

        # the control: a node that cannot withdraw stays listed over the same window (and longer)
        crasher.kill()
        window_ends = time.monotonic() + took + 2
        while time.monotonic() < window_ends and time.time() < seen[crasher_id].expires_at - 5:
            assert crasher_id in await records(observer), "a kill -9 vanished as fast: expiry is too short"
            await asyncio.sleep(0.2)
    finally:
        await observer.stop(withdraw=False)


async def test_serves_locally_while_its_bootstrap_peers_are_down_then_joins(nodes: Nodes) -> None:
    dead = free_port(socket.SOCK_DGRAM)  # nothing listens there yet
    lonely = nodes.start(SMOL, *SMALL, "--bootstrap-nodes", f"{HOST}:{dead}", name="lonely", wait=False)
    await asyncio.to_thread(lonely.start)
    async with httpx.AsyncClient(timeout=120) as client:
        dht = (await client.get(f"{lonely.url}/dht/status")).json()
        assert dht["joined"] is False and dht["peers"] == [], "its bootstrap peer is really down"
        done = (await client.get(f"{lonely.url}/status")).json()["requests_completed"]
        r = await client.post(
            f"{lonely.url}/v1/chat/completions",
            json={"model": SMOL, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 8},
        )
        assert r.status_code == 200, r.text
        assert (await client.get(f"{lonely.url}/status")).json()["requests_completed"] == done + 1  # here
        assert r.json()["choices"][0]["message"]["content"].strip()

        peer = SwarmNode(NodeIdentity.generate(), observer_config())
        await peer.start(HOST, dead)  # the bootstrap peer comes up at the address the node was given
        try:

            async def joined() -> bool:
                return bool((await client.get(f"{lonely.url}/dht/status")).json()["joined"])

            async def published() -> bool:
                return dht["node_id"] in await records(peer)

            # liveness bounds: the node retries with backoff up to 30 s between attempts
            await eventually(joined, timeout=120)
            await eventually(published, timeout=60)
        finally:
            await peer.stop(withdraw=False)


def test_every_builtin_chat_format_starts_and_serves(nodes: Nodes) -> None:
    started = {
        fmt: nodes.start(SMOL, *SMALL, "--chat-format", fmt, name=fmt, wait=False)
        for fmt in ["gguf", *BUILTIN_FORMATS]
    }
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda n: n.start(), started.values()))
    prompt_tokens = {}
    for fmt, node in started.items():
        assert httpx.get(f"{node.url}/info", timeout=10).json()["chat_format"] == fmt
        r = httpx.post(
            f"{node.url}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "temperature": 0},
            timeout=120,
        )
        assert r.status_code == 200, (fmt, r.text)
        prompt_tokens[fmt] = r.json()["usage"]["prompt_tokens"]
    raw = httpx.post(
        f"{started['gguf'].url}/v1/completions", json={"prompt": "Hi", "max_tokens": 1}, timeout=120
    ).json()["usage"]["prompt_tokens"]
    # each template wraps the message in its own markers: longer than the bare text, and not one prompt
    assert all(n > raw for n in prompt_tokens.values()), (raw, prompt_tokens)
    assert len(set(prompt_tokens.values())) >= 4, prompt_tokens


@pytest.mark.parametrize(
    ("model", "fmt", "says"),
    [
        (SMOL, "nonsense", "unknown --chat-format 'nonsense'; choose one of: gguf, transcript, chatml"),
        (GEMMA, "gguf", "has no embedded chat template"),  # the wheel's Gemma 3 270M is a base model
    ],
)
def test_a_bad_chat_format_is_refused_before_the_node_starts(
    model: str, fmt: str, says: str, model_cache: object, tmp_path: Path
) -> None:
    port = free_port()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "llamanet",
            "node",
            "--model-path",
            model,
            "--chat-format",
            fmt,
            "--host",
            HOST,
            "--port",
            str(port),
            "--dht-port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode != 0
    assert says in out.stdout + out.stderr, out.stdout + out.stderr
    with pytest.raises(httpx.ConnectError):  # no port was opened
        httpx.get(f"http://{HOST}:{port}/health", timeout=2)


def test_gpu_layers_without_a_gpu_log_one_line_and_serve_on_cpu(nodes: Nodes) -> None:
    """N_GPU_LAYERS > 0 on a machine (and build) without a GPU: one clear line, /info says cpu, it serves."""
    node = nodes.start(SMOL, *SMALL, "--n-gpu-layers", "8", name="gpu-layers")
    compute = httpx.get(f"{node.url}/info", timeout=10).json()["compute"]
    assert compute["backend"] == "cpu" and compute["gpu_layers"] == 0
    assert compute["requested_gpu_layers"] == 8
    assert any(d["type"] == "cpu" for d in compute["devices"])
    line = "N_GPU_LAYERS=8 but no GPU: this llama.cpp build has no GPU backend; serving on CPU"
    assert compute["note"] == line
    r = httpx.post(
        f"{node.url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "temperature": 0},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    assert node.log_path.read_text(errors="replace").count(line) == 1
    # its swarm record advertises the layers llama.cpp runs with, not the ones asked for
    deadline = time.monotonic() + 20
    while True:
        body = httpx.get(f"{node.url}/swarm/nodes", timeout=10).json()
        mine = [n for n in body["nodes"] if n["is_self"]]
        if (mine and mine[0]["gpu_layers"] == 0) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert mine and mine[0]["gpu_layers"] == 0, body
    plain = nodes.start(SMOL, *SMALL, name="no-gpu-layers")
    compute = httpx.get(f"{plain.url}/info", timeout=10).json()["compute"]
    assert compute["backend"] == "cpu" and compute["note"] is None and compute["requested_gpu_layers"] == 0
    assert "but no GPU" not in plain.log_path.read_text(errors="replace")
