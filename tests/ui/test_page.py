"""Page-level checks: sanitized rendering, the SSE parser, the phone layout, no outside requests."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.ui.chatpage import configure, last_reply, send, wait_done
from tests.ui.conftest import Swarm, open_ui, shot

pytestmark = [pytest.mark.ui, pytest.mark.model]

XSS = [
    "<img src=x onerror=window.__xss=1>",
    'inline <img src=x onerror="window.__xss=7"> html',
    "<script>window.__xss=2</script>",
    "[click](javascript:window.__xss=3)",
    '<svg><animate onbegin="window.__xss=4" attributeName="x" dur="1s"></svg>',
    '<a href="#" onclick="window.__xss=5">x</a><iframe src="javascript:window.__xss=6"></iframe>',
]

RENDER = """async (payloads) => {
  const { renderInto } = await import('/static/js/render.js');
  const box = document.createElement('div');
  box.id = 'xss-box';
  document.body.append(box);
  box.innerHTML = '';
  for (const p of payloads) {
    const el = document.createElement('div');
    renderInto(el, p, false);
    box.append(el);
  }
  await new Promise((r) => setTimeout(r, 300));
  const bad = [...box.querySelectorAll('*')].filter((e) =>
    [...e.attributes].some((a) => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value)));
  return {
    xss: window.__xss ?? null,
    scripts: box.querySelectorAll('script, iframe').length,
    bad: bad.map((e) => e.outerHTML),
    imgs: box.querySelectorAll('img').length,
    html: box.innerHTML,
  };
}"""


def test_model_output_is_sanitized(page: Page, swarm: Swarm) -> None:
    response = page.goto(swarm.smol.url)
    assert response is not None and response.ok
    csp = response.headers["content-security-policy"]
    assert (
        "default-src 'self'" in csp
        and "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("style-src")[0]
    )
    open_ui(page, swarm.smol)
    out = page.evaluate(RENDER, XSS)
    assert out["xss"] is None and out["scripts"] == 0 and out["bad"] == [], out["html"]
    assert out["imgs"] >= 1, out["html"]  # the harmless markup survives, without its handler
    code = page.evaluate(
        """async () => (await import('/static/js/render.js')).renderMarkdown(
             '# Title\\n\\n```python\\ndef f():\\n    return 1\\n```\\n\\n**bold**')"""
    )
    assert "<h1>" in code and "<strong>bold</strong>" in code and 'class="hljs-keyword"' in code


def test_streamed_injection_attempt_stays_inert(page: Page, swarm: Swarm) -> None:
    open_ui(page, swarm.smol)
    configure(page, max_tokens=40)
    send(page, "Repeat exactly, with nothing else: <img src=x onerror=window.__xss=1> <b>ok</b>")
    reply = wait_done(page)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert reply.locator("[onerror], script").count() == 0


SSE_CHECK = """async () => {
  const { SSEParser } = await import('/static/js/sse.js');
  const text = ': keep-alive\\r\\n\\r\\ndata: {"text": "caf\\u00e9 \\ud83e\\udd99"}\\r\\n\\r\\n' +
    'data: line one\\ndata: line two\\n\\nevent: x\\ndata:no-space\\r\\rdata: [DONE]\\n\\n';
  const bytes = new TextEncoder().encode(text);
  const want = ['{"text": "caf\\u00e9 \\ud83e\\udd99"}', 'line one\\nline two', 'no-space', '[DONE]'];
  const run = (chunks) => {
    const p = new SSEParser();
    return [...chunks.flatMap((c) => p.push(c)), ...p.end()];
  };
  const failures = [];
  for (let i = 0; i <= bytes.length; i++) {  // every split point, multibyte chars included
    for (let j = i; j <= bytes.length; j += 7) {
      const got = run([bytes.slice(0, i), bytes.slice(i, j), bytes.slice(j)]);
      if (JSON.stringify(got) !== JSON.stringify(want)) failures.push([i, j, got]);
    }
  }
  const oneByOne = run([...bytes].map((b) => new Uint8Array([b])));
  const unterminated = run([new TextEncoder().encode('data: tail')]);
  const decoded = oneByOne.length ? JSON.parse(oneByOne[0]).text : null;
  return { failures: failures.slice(0, 3), oneByOne, want, unterminated, decoded };
}"""


def test_sse_parser_handles_any_chunking(page: Page, swarm: Swarm) -> None:
    open_ui(page, swarm.smol)
    out = page.evaluate(SSE_CHECK)
    assert out["failures"] == []
    assert out["oneByOne"] == out["want"]
    assert out["unterminated"] == ["tail"]
    # fed one byte at a time, the parser's own output still decodes the multibyte characters
    assert out["decoded"] == "caf\u00e9 \U0001f999"


def test_phone_layout(page: Page, swarm: Swarm) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_ui(page, swarm.smol)
    configure(page, max_tokens=60)
    send(page, "Write a Python function that adds two numbers, in a code block.")
    wait_done(page)
    page.wait_for_selector("#node-list li")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for sel in [
        "#model",
        "#mode",
        "#stream",
        "#max-tokens",
        "#temperature",
        "#prompt",
        "#send",
        "#clear-chat",
        "#store-nothing",
    ]:
        box = page.locator(sel).bounding_box()
        assert box is not None and page.locator(sel).is_visible(), sel
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{sel} overflows: {box}"
    chat, panel = page.locator(".chat").bounding_box(), page.locator("#network").bounding_box()
    assert chat and panel and panel["y"] >= chat["y"] + chat["height"] - 1  # the panel goes below
    assert last_reply(page).bounding_box()["width"] <= 390  # type: ignore[index]
    shot(page, "phone-390", full_page=True)
