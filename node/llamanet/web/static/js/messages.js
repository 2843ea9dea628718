// The conversation on the page: one <article> per message record (history.js), answers rendered by the
// sanitizing path of render.js, user text and meta lines as textContent only. Answers carry Copy (their
// markdown source) and, on the last one, Regenerate.
import { copyText } from "./clipboard.js";
import { renderInto } from "./render.js";

const FEEDBACK_MS = 2000;

function button(cls, label, aria) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `secondary small ${cls}`;
  b.textContent = label;
  b.setAttribute("aria-label", aria);
  return b;
}

export class MessageView {
  /**
   * container: the #messages log; hint: its empty-state paragraph; announce: a live region for short
   * confirmations; find(id): the current record of a message; onRegenerate(id): regenerate an answer.
   */
  constructor({ container, hint, announce, find, onRegenerate }) {
    Object.assign(this, { container, hint, announce, find, onRegenerate });
    this.els = new Map();
  }

  clear() {
    this.els.clear();
    this.container.replaceChildren(this.hint);
    this.hint.hidden = false;
  }

  /** Show these records, replacing whatever is on the page. */
  showAll(messages) {
    this.clear();
    for (const msg of messages) this.paint(msg, false);
    this.container.lastElementChild?.scrollIntoView({ block: "end" });
  }

  element(msg) {
    let el = this.els.get(msg.id);
    if (el) return el;
    this.hint.hidden = true;
    const wrap = document.createElement("article");
    wrap.className = `msg ${msg.role}`;
    wrap.dataset.id = msg.id;
    wrap.setAttribute("aria-label", msg.role === "user" ? "Your message" : "Answer");
    const body = document.createElement("div");
    body.className = "body";
    const meta = document.createElement("div");
    meta.className = "meta";
    wrap.append(body, meta);
    el = { wrap, body, meta, error: null, copy: null, regenerate: null };
    if (msg.role === "assistant") {
      const actions = document.createElement("div");
      actions.className = "actions";
      el.copy = button("copy", "Copy", "Copy this answer (markdown)");
      el.regenerate = button("regenerate", "Regenerate", "Regenerate this answer");
      el.regenerate.hidden = true;
      el.copy.addEventListener("click", () => this.copy(msg.id, el.copy));
      el.regenerate.addEventListener("click", () => this.onRegenerate(msg.id));
      actions.append(el.copy, el.regenerate);
      wrap.append(actions);
    }
    this.container.append(wrap);
    this.els.set(msg.id, el);
    return el;
  }

  /** Render a record into its element (created on first use); `streaming`: a live, growing answer. */
  paint(msg, streaming) {
    const el = this.element(msg);
    if (msg.role === "user") {
      el.body.textContent = msg.content;
    } else {
      renderInto(el.body, msg.content, streaming);
    }
    el.wrap.dataset.state = msg.state;
    el.wrap.classList.toggle("streaming", streaming);
    el.wrap.classList.toggle("stopped", msg.state === "stopped" || msg.state === "incomplete");
    el.wrap.classList.toggle("incomplete", msg.state === "incomplete");
    el.wrap.classList.toggle("failed", msg.state === "failed");
    el.meta.textContent = streaming ? "" : msg.meta;
    if (msg.error && !streaming) {
      el.error ??= document.createElement("p");
      el.error.className = "error";
      el.error.textContent = msg.error;
      el.wrap.insertBefore(el.error, el.meta);
    } else if (el.error) {
      el.error.remove();
      el.error = null;
    }
    if (el.copy) el.copy.disabled = streaming || !msg.content;
    return el;
  }

  /** Copy and Regenerate follow the state: regenerate only the last answer, nothing while busy. */
  updateActions(messages, busy) {
    const last = messages[messages.length - 1];
    for (const [id, el] of this.els) {
      if (!el.regenerate) continue;
      el.regenerate.hidden = busy || !last || last.id !== id;
    }
  }

  scrollTo(msg) {
    this.els.get(msg.id)?.wrap.scrollIntoView({ block: "end" });
  }

  async copy(id, btn) {
    const msg = this.find(id);
    if (!msg) return;
    const ok = await copyText(msg.content);
    btn.textContent = ok ? "Copied" : "Copy failed";
    btn.dataset.copied = String(ok);
    this.announce.textContent = ok ? "Answer copied to the clipboard." : "The browser refused to copy.";
    clearTimeout(btn.resetTimer);
    btn.resetTimer = setTimeout(() => {
      btn.textContent = "Copy";
      delete btn.dataset.copied;
      this.announce.textContent = "";
    }, FEEDBACK_MS);
  }
}
