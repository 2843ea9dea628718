// Wires the page: settings, model picker, the conversation (kept in this browser unless told not to),
// send / stop / regenerate / clear with undo, and the swarm panel.
import { getJSON } from "./api.js";
import { runTurn } from "./chat.js";
import {
  CONVERSATION_KEY, ConversationStore, INCOMPLETE, contextBefore, loadConversation, newId,
  normalizeConversation, removeStoredConversation,
} from "./history.js";
import { MessageView } from "./messages.js";
import { NetworkPanel, clean } from "./network.js";
import { PREFS_KEY, loadPrefs, savePrefs } from "./prefs.js";
import { loadRenderer } from "./render.js";

const UNDO_MS = 15_000;
const $ = (id) => document.getElementById(id);
const ui = {
  messages: $("messages"), composer: $("composer"), prompt: $("prompt"), send: $("send"), stop: $("stop"),
  model: $("model"), mode: $("mode"), stream: $("stream"), maxTokens: $("max-tokens"),
  temperature: $("temperature"), temperatureValue: $("temperature-value"), modeNote: $("mode-note"),
  clear: $("clear-chat"), undoBar: $("undo-bar"), undo: $("undo-clear"), keyForm: $("key-form"),
  apiKey: $("api-key"), keyBox: $("key-box"), nodeLabel: $("node-label"), hint: $("empty-hint"),
  system: $("system"), systemBox: $("system-box"), storeNothing: $("store-nothing"),
  storageNote: $("storage-note"), announce: $("announce"),
};

let prefs = loadPrefs();
if (prefs.storeNothing) removeStoredConversation(); // at once, before anything else runs
const store = new ConversationStore(showStorage);
let current = null; // {controller, msg} while an answer is being generated
let undo = null; // {snapshot, timer} while "Undo" is offered after a clear
let unloading = false;
const view = new MessageView({
  container: ui.messages, hint: ui.hint, announce: ui.announce,
  find: (id) => store.data.messages.find((m) => m.id === id),
  onRegenerate: regenerate,
});

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

function showStorage(policy) {
  ui.storeNothing.checked = policy.locked || prefs.storeNothing;
  ui.storeNothing.disabled = policy.locked;
  ui.storeNothing.closest("label").classList.toggle("locked", policy.locked);
  ui.storageNote.textContent = policy.note;
  ui.storageNote.dataset.policy = policy.locked ? "locked" : policy.store ? "store" : "none";
}

/** The node's /ui/config: may the page keep the conversation here? (null: the node did not answer) */
async function nodeAllowsStorage() {
  try {
    const body = await getJSON("/ui/config", { signal: AbortSignal.timeout(5000) });
    return typeof body?.store_history === "boolean" ? body.store_history : null;
  } catch {
    return null;
  }
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

function setBusy(busy) {
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.send.disabled = busy;
  view.updateActions(store.data.messages, busy);
}

function describeStats(s) {
  const parts = [s.model, s.tokens != null && `${s.tokens} tokens`, s.seconds != null && `${Number(s.seconds).toFixed(1)} s`];
  return parts.filter(Boolean).join(" · ");
}

/** Generate the answer `msg` (an assistant record in the conversation) to the turns before it. */
async function answer(msg) {
  readPrefs();
  const context = contextBefore(store.data.messages, store.data.messages.indexOf(msg));
  if (store.data.system.trim()) context.unshift({ role: "system", content: store.data.system });
  const controller = new AbortController();
  current = { controller, msg };
  Object.assign(msg, { content: "", state: "streaming", meta: "", error: "" });
  setBusy(true);
  view.paint(msg, true);
  view.scrollTo(msg);
  store.changed();
  let frame = 0;
  const paint = () => {
    frame = 0;
    if (!store.has(msg)) return;
    view.paint(msg, true);
    view.scrollTo(msg);
  };
  try {
    const stats = await runTurn(context, prefs, controller.signal, (delta) => {
      msg.content += delta;
      frame ||= requestAnimationFrame(paint);
      store.changed({ soon: true });
    });
    Object.assign(msg, { state: "done", meta: describeStats(stats) });
  } catch (err) {
    if (unloading) Object.assign(msg, { state: "incomplete", meta: INCOMPLETE });
    else if (err.kind === "aborted") Object.assign(msg, { state: "stopped", meta: "Stopped." });
    else Object.assign(msg, { state: "failed", error: err.message });
  } finally {
    cancelAnimationFrame(frame);
    if (current?.msg === msg) current = null;
    if (store.has(msg)) view.paint(msg, false);
    store.changed();
    setBusy(false);
    ui.prompt.focus();
  }
}

function record(role) {
  return { id: newId(), role, content: "", state: "done", meta: "", error: "" };
}

function send(text) {
  dismissUndo();
  const user = { ...record("user"), content: text };
  const reply = { ...record("assistant"), state: "streaming" };
  store.data.messages.push(user, reply);
  view.paint(user, false);
  answer(reply);
}

function regenerate(id) {
  const last = store.data.messages[store.data.messages.length - 1];
  if (current || !last || last.id !== id || last.role !== "assistant") return;
  answer(last);
}

function dismissUndo() {
  if (!undo) return;
  clearTimeout(undo.timer);
  undo = null;
  ui.undoBar.hidden = true;
}

function clearConversation() {
  current?.controller.abort();
  if (!store.data.messages.length) return;
  dismissUndo();
  const snapshot = store.data;
  store.data = normalizeConversation({ system: snapshot.system }); // the system prompt is a setting: kept
  store.changed();
  view.clear();
  ui.undoBar.hidden = false;
  undo = { snapshot, timer: setTimeout(dismissUndo, UNDO_MS) };
  ui.announce.textContent = "Conversation cleared.";
  ui.prompt.focus();
}

function undoClear() {
  if (!undo || current) return;
  store.data = { ...undo.snapshot, system: store.data.system };
  dismissUndo();
  store.changed();
  showConversation();
  ui.announce.textContent = "Conversation restored.";
  ui.prompt.focus();
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
ui.clear.addEventListener("click", clearConversation);
ui.undo.addEventListener("click", undoClear);
ui.system.addEventListener("input", () => {
  store.data.system = ui.system.value;
  store.changed({ soon: true });
});
ui.storeNothing.addEventListener("change", () => {
  prefs = savePrefs({ ...prefs, storeNothing: ui.storeNothing.checked });
  store.setPolicy({ storeNothing: prefs.storeNothing });
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
// a reload or close mid-answer: keep what came so far (restored as incomplete), exactly once
window.addEventListener("pagehide", () => {
  unloading = true;
  if (current) Object.assign(current.msg, { state: "incomplete", meta: INCOMPLETE });
  if (current) store.changed();
  else store.saveNow();
});
window.addEventListener("pageshow", () => {
  unloading = false;
});
// another tab of this node's page: follow its "store nothing" at once, and show what it stored
window.addEventListener("storage", (ev) => {
  if (ev.key === PREFS_KEY || ev.key === null) {
    const storeNothing = loadPrefs().storeNothing;
    if (storeNothing !== prefs.storeNothing) {
      prefs = { ...prefs, storeNothing };
      store.setPolicy({ storeNothing });
    }
  }
  if ((ev.key === CONVERSATION_KEY || ev.key === null) && !current && store.policy().store) {
    store.reload();
    showConversation();
  }
});

function showConversation() {
  ui.system.value = store.data.system;
  ui.systemBox.open = Boolean(store.data.system);
  view.showAll(store.data.messages);
  view.updateActions(store.data.messages, Boolean(current));
}

async function restore() {
  const [, nodeAllows] = await Promise.all([loadRenderer(), nodeAllowsStorage()]);
  store.storeNothing = prefs.storeNothing;
  store.nodeAllows = nodeAllows;
  if (!store.policy().wipe) store.data = loadConversation(); // allowed, or not known yet: read, not written
  showConversation();
  store.setPolicy({}); // removes what is stored, or stores the normalized conversation, and says which
  setBusy(false);
}

showPrefs();
setBusy(false);
await restore();
document.documentElement.dataset.ready = "true";
new NetworkPanel($("network")).start();
showNodeLabel();
refreshModels();
setInterval(async () => {
  refreshModels();
  if (store.nodeAllows === null) store.setPolicy({ nodeAllows: await nodeAllowsStorage() });
}, 5000);
