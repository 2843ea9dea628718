// Wires the page: settings, model picker, the conversation, the stop button and the swarm panel.
import { getJSON } from "./api.js";
import { runTurn } from "./chat.js";
import { NetworkPanel, clean } from "./network.js";
import { loadPrefs, savePrefs } from "./prefs.js";
import { loadRenderer, renderInto } from "./render.js";

const $ = (id) => document.getElementById(id);
const ui = {
  messages: $("messages"), composer: $("composer"), prompt: $("prompt"), send: $("send"), stop: $("stop"),
  model: $("model"), mode: $("mode"), stream: $("stream"), maxTokens: $("max-tokens"),
  temperature: $("temperature"), temperatureValue: $("temperature-value"), modeNote: $("mode-note"),
  newChat: $("new-chat"), keyForm: $("key-form"), apiKey: $("api-key"), keyBox: $("key-box"),
  nodeLabel: $("node-label"), hint: $("empty-hint"),
};

let prefs = loadPrefs();
let history = []; // [{role, content}] sent as context with the next turn
let current = null; // {controller} while a reply is being generated

function showPrefs() {
  ui.mode.value = prefs.mode;
  ui.stream.checked = prefs.stream;
  ui.maxTokens.value = prefs.maxTokens;
  ui.temperature.value = prefs.temperature;
  ui.temperatureValue.textContent = prefs.temperature.toFixed(2);
  ui.apiKey.value = prefs.apiKey;
  ui.modeNote.hidden = prefs.mode !== "native";
}

function readPrefs() {
  prefs = savePrefs({
    ...prefs,
    mode: ui.mode.value,
    stream: ui.stream.checked,
    model: ui.model.value,
    maxTokens: ui.maxTokens.value,
    temperature: ui.temperature.value,
  });
  showPrefs();
}

async function refreshModels() {
  try {
    const body = await getJSON("/v1/models");
    const ids = [...new Set((body?.data || []).map((m) => String(m.id)))].sort();
    const have = [...ui.model.options].map((o) => o.value);
    if (ids.join("\n") !== have.join("\n")) {
      const keep = ui.model.value || prefs.model;
      ui.model.replaceChildren(...ids.map((id) => new Option(clean(id, 128), id))); // shown cleaned, sent as is
      if (ids.includes(keep)) ui.model.value = keep;
      prefs = savePrefs({ ...prefs, model: ui.model.value });
    }
    ui.model.dataset.loaded = "true";
  } catch {
    // the swarm panel reports an unreachable node; keep the current list
  }
}

async function showNodeLabel() {
  try {
    const s = await getJSON("/status");
    ui.nodeLabel.textContent = `node ${clean(s.node_id).slice(0, 12)} · ${clean(s.model, 128)}`;
  } catch {
    ui.nodeLabel.textContent = "";
  }
}

function addMessage(role, text = "") {
  ui.hint.hidden = true;
  const wrap = document.createElement("article");
  wrap.className = `msg ${role}`;
  const body = document.createElement("div");
  body.className = "body";
  const meta = document.createElement("div");
  meta.className = "meta";
  wrap.append(body, meta);
  if (role === "user") body.textContent = text;
  ui.messages.append(wrap);
  wrap.scrollIntoView({ block: "end" });
  return { wrap, body, meta };
}

function setBusy(busy) {
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.send.disabled = busy;
}

function describeStats(s) {
  const parts = [s.model, s.tokens != null && `${s.tokens} tokens`, s.seconds != null && `${Number(s.seconds).toFixed(1)} s`];
  return parts.filter(Boolean).join(" · ");
}

async function send(text) {
  readPrefs();
  const messages = [...history, { role: "user", content: text }];
  addMessage("user", text);
  const reply = addMessage("assistant");
  reply.wrap.classList.add("streaming");
  const controller = new AbortController();
  current = { controller };
  setBusy(true);
  let textSoFar = "";
  let frame = 0;
  const paint = () => {
    frame = 0;
    renderInto(reply.body, textSoFar, true);
    reply.wrap.scrollIntoView({ block: "end" });
  };
  renderInto(reply.body, "", true);
  try {
    const stats = await runTurn(messages, prefs, controller.signal, (delta) => {
      textSoFar += delta;
      frame ||= requestAnimationFrame(paint);
    });
    reply.meta.textContent = describeStats(stats);
    history = [...messages, { role: "assistant", content: textSoFar }];
  } catch (err) {
    const stopped = err.kind === "aborted";
    reply.wrap.classList.add(stopped ? "stopped" : "failed");
    reply.meta.textContent = stopped ? "Stopped." : "";
    if (!stopped) {
      const e = document.createElement("p");
      e.className = "error";
      e.textContent = err.message;
      reply.wrap.insertBefore(e, reply.meta);
    }
    if (textSoFar) history = [...messages, { role: "assistant", content: textSoFar }];
  } finally {
    cancelAnimationFrame(frame);
    renderInto(reply.body, textSoFar, false);
    reply.wrap.classList.remove("streaming");
    current = null;
    setBusy(false);
    ui.prompt.focus();
  }
}

ui.composer.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = ui.prompt.value.trim();
  if (!text || current) return;
  ui.prompt.value = "";
  send(text);
});
ui.prompt.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.stop.addEventListener("click", () => current?.controller.abort());
ui.newChat.addEventListener("click", () => {
  current?.controller.abort();
  history = [];
  ui.messages.replaceChildren(ui.hint);
  ui.hint.hidden = false;
});
for (const el of [ui.mode, ui.stream, ui.model, ui.maxTokens, ui.temperature]) {
  el.addEventListener("change", readPrefs);
}
ui.temperature.addEventListener("input", () => {
  ui.temperatureValue.textContent = Number(ui.temperature.value).toFixed(2);
});
ui.keyForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  prefs = savePrefs({ ...prefs, apiKey: ui.apiKey.value });
  ui.keyBox.open = false;
  refreshModels();
  showNodeLabel();
});

showPrefs();
setBusy(false);
await loadRenderer();
document.documentElement.dataset.ready = "true";
new NetworkPanel($("network")).start();
showNodeLabel();
refreshModels();
setInterval(refreshModels, 5000);
