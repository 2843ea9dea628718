"""Drive the chat part of the page: set the controls, send a prompt, read the last reply."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Locator, Page, Request

from tests.integration.conftest import SMOL


def configure(
    page: Page,
    *,
    mode: str = "openai",
    stream: bool = True,
    model: str = SMOL,
    max_tokens: int = 48,
    temperature: float = 0.0,
) -> None:
    page.select_option("#mode", mode)
    page.set_checked("#stream", stream)
    page.select_option("#model", model)
    page.fill("#max-tokens", str(max_tokens))
    page.eval_on_selector(
        "#temperature",
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('change')); }",
        str(temperature),
    )


def send(page: Page, text: str) -> None:
    before = page.locator(".msg.assistant").count()
    page.fill("#prompt", text)
    page.click("#send")
    page.wait_for_function(f"document.querySelectorAll('.msg.assistant').length > {before}")


def wait_done(page: Page, timeout_ms: int = 120_000) -> Locator:
    page.wait_for_selector("#send:not([hidden])", timeout=timeout_ms)
    page.wait_for_function("!document.querySelector('.msg.streaming')", timeout=timeout_ms)
    return last_reply(page)


def last_reply(page: Page) -> Locator:
    return page.locator(".msg.assistant").last


def reply_text(page: Page) -> str:
    return last_reply(page).locator(".body").inner_text()


class Posts:
    """Records the JSON bodies the page POSTs, by path."""

    def __init__(self, page: Page) -> None:
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        page.on("request", self._on_request)

    def _on_request(self, request: Request) -> None:
        if request.method == "POST" and request.post_data:
            path = "/" + request.url.split("/", 3)[3]
            self.bodies.append((path, json.loads(request.post_data)))

    def last(self) -> tuple[str, dict[str, Any]]:
        return self.bodies[-1]
