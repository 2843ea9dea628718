"""The chat: streaming in both API modes, conversation context, the model picker, readable errors."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, Route

from tests.integration.conftest import GEMMA, SMOL, Nodes
from tests.ui.chatpage import Posts, configure, last_reply, reply_text, send, wait_done
from tests.ui.conftest import Swarm, node_args, open_ui, shot

pytestmark = [pytest.mark.ui, pytest.mark.model, pytest.mark.slow]


def sample_growth(page: Page, samples: int = 40, every: float = 0.1) -> list[int]:
    """Lengths of the reply's text while it streams."""
    lengths: list[int] = []
    for _ in range(samples):
        if not page.locator(".msg.streaming").count():
            break
        lengths.append(len(reply_text(page)))
        time.sleep(every)
    return lengths


@pytest.mark.parametrize("mode", ["openai", "native"])
def test_reply_streams_in_over_several_steps(page: Page, swarm: Swarm, mode: str) -> None:
    open_ui(page, swarm.smol)
    configure(page, mode=mode, max_tokens=160, temperature=0.7)
    send(page, "Tell me a long story about a dragon who learns to bake bread.")
    page.wait_for_selector(".msg.streaming .cursor")  # the animated cursor while it streams
    lengths = sample_growth(page)
    shot(page, f"streaming-{mode}")
    reply = wait_done(page)
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
    page.click("#new-chat")
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
    page.click("#stop")
    page.wait_for_selector("#send:not([hidden])", timeout=5000)
    deadline = time.monotonic() + 3
    while status()["active_requests"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status()["active_requests"] == 0, "the server kept generating after stop"
    before = status()["tokens_generated"]
    time.sleep(1.0)
    assert status()["tokens_generated"] == before
    assert "Stopped" in last_reply(page).locator(".meta").inner_text()
    shot(page, "stopped")


def fulfill_error(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> Callable[[Route], None]:
    def handler(route: Route) -> None:
        body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
        route.fulfill(status=status, body=json.dumps(body), content_type="application/json", headers=headers)

    return handler


def test_errors_are_readable(page: Page, swarm: Swarm) -> None:
    open_ui(page, swarm.smol)
    configure(page, max_tokens=8)
    page.route(
        "**/v1/chat/completions",
        fulfill_error(429, "queue is full", "queue_full", {"Retry-After": "3"}),
    )
    send(page, "hi")
    error = wait_done(page).locator(".error")
    assert "busy" in error.inner_text() and "retry in 3 s" in error.inner_text()
    page.unroute("**/v1/chat/completions")
    page.route("**/v1/chat/completions", lambda route: route.abort("connectionrefused"))
    send(page, "hi again")
    assert "Cannot reach the node" in wait_done(page).locator(".error").inner_text()
    page.unroute("**/v1/chat/completions")
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
