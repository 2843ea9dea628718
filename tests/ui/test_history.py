"""The conversation kept in the browser: reload, clear with undo, "store nothing", the node's
``--ui-store-history off``, copy, regenerate, and stored messages that are hostile."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess
from tests.ui.chatpage import Posts, configure, last_reply, reply_text, send, wait_done
from tests.ui.conftest import Swarm, node_args, open_ui, shot

pytestmark = [pytest.mark.ui, pytest.mark.model]

KEY = "llamanet.chat.v1"
PREFS = "llamanet.prefs.v1"


def stored(page: Page) -> Any:
    raw = page.evaluate(f"localStorage.getItem({KEY!r})")
    return None if raw is None else json.loads(raw)


def msg(role: str, content: str, **extra: str) -> dict[str, str]:
    return {"role": role, "content": content, **extra}


def plant(page: Page, node: NodeProcess, conversation: object) -> None:
    """Store ``conversation`` (JSON-encoded, or as is when a str) for ``node``'s page and open the page.

    It is written from a script-less page of the same origin, so no UI page is open to overwrite it."""
    page.goto(f"{node.url}/static/css/app.css")
    raw = conversation if isinstance(conversation, str) else json.dumps(conversation)
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [KEY, raw])
    open_ui(page, node)


def reload(page: Page) -> None:
    page.reload()
    page.wait_for_selector("html[data-ready=true]", state="attached")


def test_reload_keeps_the_conversation_and_an_interrupted_answer_once(page: Page, swarm: Swarm) -> None:
    open_ui(page, swarm.smol)
    page.click("#system-box summary")
    page.fill("#system", "Answer briefly.")
    configure(page, max_tokens=24)
    send(page, "Say hello to Ada.")
    wait_done(page)
    first = reply_text(page)
    configure(page, max_tokens=400)
    send(page, "Count from 1 to 500, separated by commas.")
    page.wait_for_function("(document.querySelector('.msg.streaming .body')?.innerText.length ?? 0) > 40")
    assert page.locator(".msg.streaming").count() == 1, "the answer ended before the reload"
    reload(page)  # mid-stream
    assert page.locator(".msg.user").count() == 2 and page.locator(".msg.assistant").count() == 2
    assert page.locator(".msg.assistant").first.locator(".body").inner_text() == first
    cut = last_reply(page)
    assert "incomplete" in (cut.get_attribute("class") or "")
    assert "Incomplete" in cut.locator(".meta").inner_text()
    assert len(cut.locator(".body").inner_text()) > 20  # kept as far as it got
    assert page.input_value("#system") == "Answer briefly."
    assert page.input_value("#max-tokens") == "400" and page.input_value("#model") == SMOL
    data = stored(page)
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "user", "assistant"]
    assert len({m["id"] for m in data["messages"]}) == 4
    assert data["messages"][3]["state"] == "incomplete" and data["system"] == "Answer briefly."
    assert len(data["messages"][3]["content"]) > 20
    shot(page, "history-restored")
    posts = Posts(page)  # the restored turns are the next answer's context
    configure(page, max_tokens=8)
    send(page, "Thanks.")
    wait_done(page)
    _, body = posts.last()
    assert [m["role"] for m in body["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert body["messages"][2]["content"] == data["messages"][1]["content"]
    assert len(stored(page)["messages"]) == 6


def test_clear_empties_the_conversation_and_the_storage_with_undo(page: Page, swarm: Swarm) -> None:
    plant(page, swarm.smol, {"messages": [msg("user", "hi"), msg("assistant", "**hello**")]})
    assert page.locator(".msg").count() == 2
    assert last_reply(page).locator("strong").inner_text() == "hello"  # rendered as markdown
    page.click("#clear-chat")
    assert page.locator(".msg").count() == 0 and stored(page) is None
    page.wait_for_selector("#undo-bar:not([hidden])")
    page.click("#undo-clear")
    assert page.locator(".msg").count() == 2 and len(stored(page)["messages"]) == 2
    page.click("#clear-chat")
    reload(page)
    assert page.locator(".msg").count() == 0 and stored(page) is None
    assert page.is_visible("#empty-hint")


def test_store_nothing_removes_what_is_stored_and_writes_nothing(page: Page, swarm: Swarm) -> None:
    plant(page, swarm.smol, {"messages": [msg("user", "secret question"), msg("assistant", "secret answer")]})
    other = page.context.new_page()  # a second tab of the same page follows the setting at once
    open_ui(other, swarm.smol)
    assert page.locator(".msg").count() == 2 and stored(page) is not None
    assert page.get_attribute("#storage-note", "data-policy") == "store"
    page.check("#store-nothing")
    assert stored(page) is None, "the stored conversation stayed after 'store nothing'"
    other.wait_for_function("document.querySelector('#store-nothing').checked")
    assert page.locator(".msg").count() == 2  # still on the page, only not stored
    configure(page, max_tokens=8)
    send(page, "Another secret.")
    wait_done(page)
    other.close()
    page.wait_for_timeout(600)  # past the delayed save of streamed text
    keys = page.evaluate("Object.keys(localStorage)")
    assert keys == [PREFS], keys
    prefs = page.evaluate(f"localStorage.getItem({PREFS!r})")
    assert "secret" not in prefs and json.loads(prefs)["storeNothing"] is True
    reload(page)
    assert page.locator(".msg").count() == 0 and page.is_checked("#store-nothing")
    assert "Nothing" in page.inner_text("#storage-note")
    page.uncheck("#store-nothing")  # storing again from now on
    page.click("#system-box summary")
    page.fill("#system", "Be kind.")
    page.wait_for_function(f"localStorage.getItem({KEY!r}) !== null")
    assert stored(page)["system"] == "Be kind."


def test_the_node_setting_off_forces_store_nothing(page: Page, nodes: Nodes) -> None:
    node = nodes.start(SMOL, *node_args("--ui-store-history", "off"), name="ui-nostore")
    assert httpx.get(f"{node.url}/ui/config", timeout=5).json() == {"store_history": False}
    plant(page, node, {"messages": [msg("user", "from before"), msg("assistant", "old answer")]})
    assert stored(page) is None, "the node said off, and the stored conversation stayed"
    assert page.locator(".msg").count() == 0
    box = page.locator("#store-nothing")
    assert box.is_checked() and box.is_disabled()
    assert "operator" in page.inner_text("#storage-note")
    configure(page, max_tokens=8)
    send(page, "Say hi.")
    wait_done(page)
    page.wait_for_timeout(600)
    assert page.evaluate("Object.keys(localStorage)") == [PREFS]
    shot(page, "history-node-off")


MARKDOWN = "**bold** and `code`\n\n```python\nprint(1)\n```"


def test_copy_puts_the_markdown_source_on_the_clipboard(page: Page, swarm: Swarm) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=swarm.smol.url)
    plant(
        page,
        swarm.smol,
        {
            "messages": [
                msg("user", "q"),
                msg("assistant", MARKDOWN),
                msg("user", "q2"),
                msg("assistant", "two"),
            ]
        },
    )
    copy = page.locator(".msg.assistant").first.locator("button.copy")
    copy.focus()
    page.keyboard.press("Enter")  # reachable and usable from the keyboard
    page.wait_for_function("document.querySelector('.msg.assistant button.copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == MARKDOWN
    assert copy.get_attribute("aria-label") == "Copy this answer (markdown)"
    # without the Clipboard API (plain http on a LAN address): the textarea fallback
    page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true})")
    second = last_reply(page).locator("button.copy")
    second.click()
    page.wait_for_function(
        "[...document.querySelectorAll('.msg.assistant button.copy')].pop().textContent === 'Copied'"
    )
    page.evaluate("delete navigator.clipboard")
    assert page.evaluate("navigator.clipboard.readText()") == "two"
    page.wait_for_function("document.querySelector('.msg.assistant button.copy').textContent === 'Copy'")


COUNT = "Count from 1 to 500, separated by commas."


def test_regenerate_replaces_the_last_answer_and_stops(page: Page, swarm: Swarm) -> None:
    old = "OLD-ANSWER-MARKER"
    first = [msg("user", "Hi."), msg("assistant", "Hello! How can I help you today?")]
    plant(page, swarm.smol, {"messages": [*first, msg("user", COUNT), msg("assistant", old)]})
    regen = page.locator(".msg.assistant button.regenerate:visible")
    assert regen.count() == 1, "Regenerate belongs to the last answer only"
    posts = Posts(page)
    configure(page, max_tokens=16)
    regen.click()
    reply = wait_done(page)
    assert page.locator(".msg.assistant").count() == 2
    text = reply_text(page)
    assert text.strip() and old not in text
    _, body = posts.last()
    assert body["messages"] == [*first, msg("user", COUNT)]  # the same conversation, without the old answer
    kept = stored(page)["messages"]
    assert len(kept) == 4 and kept[3]["content"] != old and kept[3]["content"].strip()
    configure(page, max_tokens=600)
    page.click(".msg.assistant button.regenerate:visible")
    page.wait_for_function("(document.querySelector('.msg.streaming .body')?.innerText.length ?? 0) > 20")
    assert page.locator("button.regenerate:visible").count() == 0  # not while it streams
    page.click("#stop")
    reply = wait_done(page)
    assert "Stopped" in reply.locator(".meta").inner_text()
    assert page.locator(".msg.assistant").count() == 2 and regen.count() == 1
    assert stored(page)["messages"][3]["state"] == "stopped"


HOSTILE = "<img src=x onerror=window.__xss=1><script>window.__xss=2</script>"


def test_a_planted_hostile_stored_message_does_not_run(page: Page, swarm: Swarm) -> None:
    conversation = {
        "system": '<img src=x onerror="window.__xss=3">',
        "messages": [
            msg("user", HOSTILE),
            msg(
                "assistant",
                HOSTILE + '\n\n[x](javascript:window.__xss=4) <svg onload="window.__xss=5">',
                meta='<img src=x onerror="window.__xss=6">',
                error="<b onmouseover=window.__xss=7>e</b>",
                state="failed",
            ),
            msg("assistant", "dup", id="same"),
            msg("assistant", "dup", id="same"),
            {"role": "system", "content": "<img src=x onerror=window.__xss=8>"},  # not a stored role
            "not a message",
            {"role": "assistant", "content": {"html": HOSTILE}},
        ],
    }
    plant(page, swarm.smol, conversation)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    log = page.locator("#messages")
    assert log.locator("script, iframe, [onerror], [onload], [onmouseover]").count() == 0
    assert log.locator("a[href^='javascript']").count() == 0
    assert page.locator(".msg.user .body").inner_text() == HOSTILE  # the user's text, shown as text
    assert "onerror" in page.locator(".msg.assistant .meta").first.inner_text()
    assert page.locator(".msg").count() == 4  # the duplicate once, the non-messages dropped
    plant(page, swarm.smol, "{not json")  # unreadable storage: an empty page, no script error
    assert page.locator(".msg").count() == 0
