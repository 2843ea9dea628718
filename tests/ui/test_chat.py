"""The chat: streaming in both API modes, conversation context, the model picker, readable errors."""

from __future__ import annotations

import contextlib
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Page

from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.ui.chatpage import Posts, configure, last_reply, reply_text, send, wait_done
from tests.ui.conftest import Swarm, node_args, open_ui, shot

pytestmark = [pytest.mark.ui, pytest.mark.model, pytest.mark.slow]


# Records the reply's text length at every DOM change while it streams (a MutationObserver: events,
# not a sampling interval, so a slow or fast machine sees the same steps).
WATCH_GROWTH = """() => {
  window.__growth = [];
  const log = () => {
    const body = document.querySelector('.msg.streaming .body');
    if (body) window.__growth.push(body.innerText.length);
  };
  window.__growthObserver = new MutationObserver(log);
  window.__growthObserver.observe(document.querySelector('#messages') ?? document.body,
    { childList: true, subtree: true, characterData: true });
}"""


def watch_growth(page: Page) -> None:
    page.evaluate(WATCH_GROWTH)


def growth(page: Page) -> list[int]:
    lengths: list[int] = page.evaluate(
        "(() => { window.__growthObserver.disconnect(); return window.__growth; })()"
    )
    return lengths


@pytest.mark.parametrize("mode", ["openai", "native"])
def test_reply_streams_in_over_several_steps(page: Page, swarm: Swarm, mode: str) -> None:
    open_ui(page, swarm.smol)
    configure(page, mode=mode, max_tokens=160, temperature=0.7)
    watch_growth(page)
    send(page, "Tell me a long story about a dragon who learns to bake bread.")
    page.wait_for_selector(".msg.streaming .cursor")  # the animated cursor while it streams
    shot(page, f"streaming-{mode}")
    reply = wait_done(page)
    lengths = growth(page)
    steps = sorted(set(lengths))
    assert len(steps) >= 3, f"the reply did not grow over several steps: {lengths}"
    assert lengths == sorted(lengths), f"the reply shrank while streaming: {lengths}"
    assert len(reply_text(page)) >= steps[-1] > 0
    assert reply.locator(".cursor").count() == 0
    assert "tokens" in reply.locator(".meta").inner_text()
    assert page.evaluate("window.__xss") is None


def test_conversation_context_in_both_modes_with_and_without_streaming(page: Page, swarm: Swarm) -> None:
    open_ui(page, swarm.smol)
    posts = Posts(page)
    turns = [
        ("openai", False, "My name is Ada. Say hello to me."),
        ("openai", True, "What is my name?"),
        ("native", True, "Say my name again."),
        ("native", False, "Say goodbye."),
    ]
    for mode, stream, text in turns:
        configure(page, mode=mode, stream=stream, max_tokens=24)
        send(page, text)
        reply = wait_done(page)
        assert reply_text(page).strip(), f"empty reply in {mode} mode (stream={stream})"
        assert not reply.locator(".error").count()
    paths = [p for p, _ in posts.bodies]
    assert paths == ["/v1/chat/completions", "/v1/chat/completions", "/generate/stream", "/generate"]
    _, second = posts.bodies[1]
    assert second["stream"] is True and [m["role"] for m in second["messages"]] == [
        "user",
        "assistant",
        "user",
    ]
    assert second["messages"][0]["content"] == "My name is Ada. Say hello to me."
    _, third = posts.bodies[2]
    assert "My name is Ada" in third["prompt"] and third["prompt"].endswith("Say my name again.")
    assert page.locator(".msg.user").count() == 4 and page.locator(".msg.assistant").count() == 4
    page.click("#clear-chat")
    assert page.locator(".msg").count() == 0


def test_model_picker_lists_the_swarm_and_routes(page: Page, swarm: Swarm) -> None:
    open_ui(page, swarm.smol, models=2)
    listed = sorted(m["id"] for m in httpx.get(f"{swarm.smol.url}/v1/models", timeout=10).json()["data"])
    options = page.eval_on_selector_all("#model option", "os => os.map(o => o.value)")
    assert sorted(options) == listed
    assert {SMOL, GEMMA} <= set(options)
    configure(page, model=GEMMA, max_tokens=16)
    send(page, "Name a colour.")
    reply = wait_done(page)
    assert GEMMA in reply.locator(".meta").inner_text()  # answered by the other node
    assert reply_text(page).strip()


def test_stop_cancels_the_generation_on_the_server(page: Page, swarm: Swarm) -> None:
    def status() -> dict[str, int]:
        body: dict[str, int] = httpx.get(f"{swarm.smol.url}/status", timeout=5).json()
        return body

    open_ui(page, swarm.smol)
    configure(page, max_tokens=900, temperature=0.0)
    send(page, "Count from 1 to 1000, separated by commas.")
    page.wait_for_function("(document.querySelector('.msg.streaming .body')?.innerText.length ?? 1e9) > 40")
    assert page.locator(".msg.streaming").count() == 1, "the reply ended before it could be stopped"
    assert status()["active_requests"] >= 1
    completed = status()["requests_completed"]
    page.click("#stop")
    page.wait_for_selector("#send:not([hidden])")
    deadline = time.monotonic() + 120  # a liveness bound for a loaded machine, not a measurement
    while status()["active_requests"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status()["active_requests"] == 0, "the server kept generating after stop"
    # cancelled, not finished: a generation that ran on to its end (or its 900 tokens) would count
    assert status()["requests_completed"] == completed, "the generation ran to its end after stop"
    assert "Stopped" in last_reply(page).locator(".meta").inner_text()
    shot(page, "stopped")


# SmolLM2's end tokens, banned: a raw completion runs to its max_tokens
NO_EOS = {"0": -100, "1": -100, "2": -100}


def test_errors_are_readable(page: Page, nodes: Nodes) -> None:
    # a real full node: one slot, no queue. A long generation holds the slot, so the page's request
    # is answered 429 by the node itself; then the node is killed mid-stream: a real broken response.
    full = nodes.start(SMOL, *node_args("--max-queue", "0"), name="ui-full")
    open_ui(page, full)
    hold = {"prompt": "Count: 1, 2,", "max_tokens": 900, "raw": True, "logit_bias": NO_EOS}
    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(httpx.post, f"{full.url}/generate", json=hold, timeout=300)
        deadline = time.monotonic() + 120  # liveness bound
        while httpx.get(f"{full.url}/status", timeout=5).json()["active_requests"] < 1:
            assert time.monotonic() < deadline and not holder.done(), "the slot never filled"
            time.sleep(0.05)
        configure(page, max_tokens=8)
        send(page, "hi")
        error = wait_done(page).locator(".error")
        assert "busy" in error.inner_text(), error.inner_text()
        assert re.search(r"retry in \d+ s", error.inner_text()), error.inner_text()
        full.kill()  # the held request breaks; the slot is free nowhere
        with contextlib.suppress(httpx.HTTPError):
            holder.result()
    full.start()  # a fresh process on the same port: the page streams from it, then it dies mid-reply
    configure(page, mode="native", max_tokens=900)
    send(page, "Count from 1 to 1000, separated by commas.")
    page.wait_for_function("(document.querySelector('.msg.streaming .body')?.innerText.length ?? 0) > 10")
    full.kill()
    error = wait_done(page).locator(".error")
    assert "Cannot reach the node" in error.inner_text(), error.inner_text()
    configure(page, mode="native", max_tokens=4000)  # clamped to 2048 by the control
    assert page.input_value("#max-tokens") == "2048"
    shot(page, "errors")


def test_api_key_from_the_page(page: Page, nodes: Nodes) -> None:
    locked = nodes.start(SMOL, *node_args("--api-key", "s3cret"), name="ui-locked")
    page.goto(locked.url)  # the page and its assets are open; the API is not
    page.wait_for_selector("html[data-ready=true]", state="attached")
    page.wait_for_selector("#network-banner:not([hidden])")
    assert "API key" in page.inner_text("#network-banner")
    page.click("#key-box summary")
    page.fill("#api-key", "s3cret")
    page.click("#key-form button")
    page.wait_for_function("document.querySelectorAll('#model option').length >= 1")
    configure(page, max_tokens=8)
    send(page, "Say hi.")
    reply = wait_done(page)
    assert not reply.locator(".error").count() and reply_text(page).strip()
    assert page.evaluate("JSON.parse(localStorage.getItem('llamanet.prefs.v1')).apiKey") == "s3cret"
