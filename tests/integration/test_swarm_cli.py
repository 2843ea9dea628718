"""``llamanet status|monitor|check`` as subprocesses against a real DHT bootstrap (in-process SwarmNodes)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator

import pytest

from tests.integration.conftest import GEMMA, SMOL
from tests.nodeproc import NodeProcess, free_port
from tests.swarmrecords import RecordSwarm

pytestmark = pytest.mark.timeout(120)

CLI = [sys.executable, "-m", "llamanet"]


async def run_cli(*args: str, timeout: float = 90.0) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def records() -> AsyncIterator[RecordSwarm]:
    """Two advertised nodes (their URLs need not answer: status and monitor only read the DHT)."""
    s = await RecordSwarm().start()
    await s.publish("http://127.0.0.1:9101", "tiny", "alpha", site="lab", uptime_s=75, tokens_per_s=12.5)
    await s.publish("http://127.0.0.1:9102", "tiny", "beta", queue_depth=3, active_requests=2, slots_free=0)
    yield s
    await s.stop()


def unreachable() -> str:
    return f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"


async def test_status_prints_a_table_and_per_model_counts(records: RecordSwarm) -> None:
    rc, out, err = await run_cli("status", records.bootstrap)
    assert rc == 0, err
    assert "ID" in out and "SLOTS" in out and "URL" in out
    alpha = next(line for line in out.splitlines() if "alpha" in line)
    assert "http://127.0.0.1:9101" in alpha and "lab" in alpha and "1m15s" in alpha and "12.5" in alpha
    beta = next(line for line in out.splitlines() if "beta" in line)
    # load is per slot: (2 active + 3 queued) / 2 slots
    assert "2.50 (2 active, 3 queued)" in beta and "0/2 free" in beta
    assert "2 nodes, 1 model(s)" in out and "tiny: 2 nodes" in out
    assert "rpcudp" not in err and "kademlia" not in err


async def test_status_json(records: RecordSwarm) -> None:
    rc, out, _ = await run_cli("status", records.bootstrap, "--json")
    assert rc == 0
    data = json.loads(out)
    assert sorted(n["name"] for n in data["nodes"]) == ["alpha", "beta"]
    assert {n["node_id"] for n in data["nodes"]} == {m.node_id for m in records.members}
    assert data["models"] == {"tiny": [n["node_id"] for n in data["nodes"]]}
    assert all(n["expires_in"] > 0 and n["dht_port"] for n in data["nodes"])

    rc, out, err = await run_cli("status", records.bootstrap, "--model", "nobody-serves-this")
    assert rc == 1 and "no nodes serving nobody-serves-this found" in err


async def test_monitor_once(records: RecordSwarm) -> None:
    rc, out, err = await run_cli("monitor", records.bootstrap, "--count", "1")
    assert rc == 0, err
    assert "llamanet monitor:" in out and "alpha" in out and "beta" in out and "2 nodes" in out


async def test_monitor_shows_nodes_joining_and_leaving_until_ctrl_c(records: RecordSwarm) -> None:
    proc = await asyncio.create_subprocess_exec(
        *CLI, "monitor", records.bootstrap, "--interval", "0.3",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        # as a terminal would: a suite started in the background (nohup, `&`) ignores SIGINT, its
        # children inherit that, and a Python started so never turns Ctrl-C into KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []

    async def wait_for(text: str) -> None:
        while not any(text in line for line in seen):
            line = await asyncio.wait_for(proc.stdout.readline(), 30)  # type: ignore[union-attr]
            assert line, f"monitor exited before printing {text!r}: {''.join(seen)}"
            seen.append(line.decode())

    try:
        await wait_for("2 nodes")
        await records.publish("http://127.0.0.1:9103", "other", "gamma")
        await wait_for("+ joined")
        await records.remove(records.members[0])
        await wait_for("- left")
    finally:
        proc.send_signal(signal.SIGINT)
        # read what is left while it exits: a full pipe would block its last print, and so its exit
        await asyncio.wait_for(proc.communicate(), 30)
        rc = proc.returncode
    joined = next(line for line in seen if "+ joined" in line)
    left = next(line for line in seen if "- left" in line)
    assert "gamma" in joined and "http://127.0.0.1:9103" in joined
    assert "alpha" in left
    assert rc == 0  # Ctrl-C is the normal way to stop


@pytest.mark.parametrize(
    "command", [["status"], ["monitor", "--count", "2", "--interval", "0.1"], ["check"]], ids=lambda c: c[0]
)
async def test_unreachable_swarm_exits_non_zero(command: list[str]) -> None:
    rc, out, err = await run_cli(*command[:1], unreachable(), "--timeout", "0.5", *command[1:])
    assert rc == 1
    assert "no bootstrap node answered" in out + err


async def test_bad_bootstrap_address_is_a_clear_error() -> None:
    rc, _, err = await run_cli("status", "no-port-here")
    assert rc == 1 and "missing ':port'" in err


@pytest.mark.model
async def test_check_passes_on_a_healthy_swarm_and_fails_with_a_dead_node(
    smol: NodeProcess, gemma: NodeProcess
) -> None:
    swarm = await RecordSwarm().start()
    try:
        await swarm.publish(smol.url, SMOL, "smol", smol.identity())
        await swarm.publish(gemma.url, GEMMA, "gemma", gemma.identity())
        rc, out, err = await run_cli("check", swarm.bootstrap)
        assert rc == 0, out + err
        lines = out.splitlines()
        assert sum(line.startswith("OK    health") for line in lines) == 2
        # each node's backend from its /info (these nodes run on CPU without asking for GPU layers)
        assert sum(line.startswith("OK    compute") and line.endswith(": cpu") for line in lines) == 2, out
        assert any(line.startswith("OK    generate") and SMOL in line for line in lines)
        assert any(line.startswith("OK    generate") and GEMMA in line for line in lines)
        assert lines[-1] == "7 passed, 0 failed"

        await swarm.publish(f"http://127.0.0.1:{free_port()}", "ghost", "dead")
        rc, out, _ = await run_cli("check", swarm.bootstrap)
        assert rc == 1
        assert any(line.startswith("FAIL  health") and "dead" in line for line in out.splitlines())
        assert any(line.startswith("FAIL  generate") and "ghost" in line for line in out.splitlines())
        assert out.splitlines()[-1] == "7 passed, 2 failed"
    finally:
        await swarm.stop()
