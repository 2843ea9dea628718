"""The swarm panel: lists every node with its numbers, refreshes live, and drops a node that stops."""

from __future__ import annotations

import signal
import time

import httpx
import pytest
from playwright.sync_api import Page

from tests.integration.conftest import SMOL, Nodes
from tests.ui.conftest import Swarm, dht_id, node_args, open_ui, shot, swarm_ids, wait_for

pytestmark = [pytest.mark.ui, pytest.mark.model, pytest.mark.slow]


def row(node_id: str) -> str:
    return f'#node-list li[data-node-id="{node_id}"]'


def test_panel_lists_nodes_and_drops_a_stopped_one(page: Page, swarm: Swarm, nodes: Nodes) -> None:
    # a 30 s heartbeat: its record lives 60 s, so vanishing sooner proves a clean withdrawal
    extra = nodes.start(
        SMOL, *node_args("--n-ctx", "256", "--heartbeat-interval", "30", seed=swarm.smol), name="ui-extra"
    )
    extra_id, smol_id, gemma_id = dht_id(extra), dht_id(swarm.smol), dht_id(swarm.gemma)
    wait_for(lambda: extra_id in swarm_ids(swarm.smol), what="the extra node in the swarm")
    open_ui(page, swarm.smol, models=2)
    for node_id in (smol_id, gemma_id, extra_id):
        page.wait_for_selector(row(node_id), timeout=15_000)
    me = page.locator(row(smol_id))
    assert me.get_attribute("data-state") == "ok" and "this node" in me.inner_text()
    assert page.locator(row(gemma_id)).locator(".stat-model").inner_text() == "gemma3-270m"
    assert "busy" in me.locator(".stat-load").inner_text()
    assert page.locator(row(extra_id)).get_attribute("data-state") == "ok"
    assert "3 nodes" in page.inner_text("#swarm-summary")
    dht = page.inner_text("#dht-info")
    assert "peers" in dht and "routing table" in dht and "joined\tyes" in dht.replace("\n", "\t")
    uptime = me.locator(".stat-uptime").inner_text()
    page.wait_for_function(  # live: the panel polls every ~2 s
        f"document.querySelector('{row(smol_id)} .stat-uptime').innerText !== {uptime!r}", timeout=6000
    )
    shot(page, "network-3-nodes")

    listed = {n["node_id"]: n for n in httpx.get(f"{swarm.smol.url}/swarm/nodes", timeout=5).json()["nodes"]}
    expires_at = time.time() + listed[extra_id]["expires_in"]
    # SIGTERM: a clean shutdown (uvicorn re-raises the signal when done) withdraws the record
    assert extra.stop() in (0, -signal.SIGTERM)
    page.wait_for_selector(f'{row(extra_id)}[data-state="gone"]', state="attached", timeout=30_000)
    assert time.time() < expires_at, "the row went only when the record expired: nothing was withdrawn"
    shot(page, "network-node-gone")
    page.wait_for_selector(row(extra_id), state="detached", timeout=20_000)
    for node_id in (smol_id, gemma_id):  # the others stay
        page.wait_for_selector(f'{row(node_id)}[data-state="ok"]', state="attached", timeout=10_000)
    assert "2 nodes" in page.inner_text("#swarm-summary")


def test_peer_strings_are_shown_without_control_characters(page: Page, swarm: Swarm, nodes: Nodes) -> None:
    # issue 16: a peer's record is free text: escape codes and bidi overrides must not reach the page
    evil = nodes.start(
        SMOL,
        *node_args(
            "--n-ctx", "256", "--site", "lab\x1b[31m\u202eX", "--node-id", "evil\x1b]0;t\x07", seed=swarm.smol
        ),
        name="ui-evil",
    )
    evil_id = dht_id(evil)
    wait_for(lambda: evil_id in swarm_ids(swarm.smol), what="the evil node in the swarm")
    open_ui(page, swarm.smol, models=2)
    page.wait_for_selector(row(evil_id), timeout=15_000)
    item = page.locator(row(evil_id))
    site, name = item.locator(".stat-site").inner_text(), item.locator(".node-name").inner_text()
    assert site == "lab[31mX" and name == "evil]0;t"
    for text in (site, name, item.inner_text()):
        assert not any(
            (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in text
        )
