// The conversation kept in this browser (localStorage), and the decision whether it may be kept at all.
// Stored data is untrusted like model output: it is coerced into plain records here and rendered by the
// same sanitizing path as a live reply (render.js); user text and meta lines only ever become textContent.
export const CONVERSATION_KEY = "llamanet.chat.v1";

const ROLES = new Set(["user", "assistant"]);
const STATES = new Set(["done", "streaming", "stopped", "failed", "incomplete"]);
export const MAX_MESSAGES = 1000;
const MAX_TEXT = 1_000_000; // characters of one message or of the system prompt
const SAVE_DELAY_MS = 400; // while an answer streams, it is saved at most this often (and on pagehide)
export const INCOMPLETE = "Incomplete: the page was closed or reloaded while this answer streamed.";
const ELSEWHERE = "Being written in another tab…";

let counter = 0;
/** An id for a message, unique in this browser (crypto.randomUUID needs a secure context). */
export function newId() {
  counter += 1;
  return `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 10)}`;
}

function text(value, max = MAX_TEXT) {
  return typeof value === "string" ? value.slice(0, max) : "";
}

/**
 * One stored message as a plain record, or null when it is not one. An answer stored while streaming
 * is incomplete: its page went away (or, `live`, another tab of it is still writing it).
 */
export function normalizeMessage(raw, live = false) {
  if (!raw || typeof raw !== "object" || !ROLES.has(raw.role)) return null;
  const msg = {
    id: text(raw.id, 80) || newId(),
    role: raw.role,
    content: text(raw.content),
    state: raw.role === "assistant" && STATES.has(raw.state) ? raw.state : "done",
    meta: text(raw.meta, 500),
    error: text(raw.error, 2000),
  };
  if (msg.state === "streaming") {
    Object.assign(msg, { state: "incomplete", meta: live ? ELSEWHERE : INCOMPLETE });
  }
  return msg;
}

/** Coerce anything (stored JSON) into a conversation: {system, messages}. */
export function normalizeConversation(raw, live = false) {
  const obj = raw && typeof raw === "object" ? raw : {};
  const list = Array.isArray(obj.messages) ? obj.messages.slice(-MAX_MESSAGES) : [];
  const seen = new Set();
  const messages = [];
  for (const item of list) {
    const msg = normalizeMessage(item, live);
    if (!msg || seen.has(msg.id)) continue; // a duplicated record is shown once
    seen.add(msg.id);
    messages.push(msg);
  }
  return { system: text(obj.system), messages };
}

export function isEmpty(conversation) {
  return !conversation.messages.length && !conversation.system;
}

/**
 * Whether the page may keep the conversation in this browser.
 * storeNothing: the user's setting; nodeAllows: the node's `store_history` (null: not known yet).
 * Returns {store, wipe (remove what is stored now), locked (the user cannot turn storage on), note}.
 */
export function storagePolicy(storeNothing, nodeAllows) {
  if (nodeAllows === false) {
    return {
      store: false,
      wipe: true,
      locked: true,
      note:
        "This node's operator turned browser storage off (--ui-store-history off): nothing of the " +
        "conversation is stored in this browser, and it ends when the page closes.",
    };
  }
  if (storeNothing) {
    return {
      store: false,
      wipe: true,
      locked: false,
      note: "Nothing of the conversation is stored in this browser: it ends when the page closes.",
    };
  }
  if (nodeAllows !== true) {
    return {
      store: false,
      wipe: false,
      locked: false,
      note: "The node's storage setting is not known yet: nothing is stored until the node answers.",
    };
  }
  return {
    store: true,
    wipe: false,
    locked: false,
    note: "The conversation is kept in this browser (localStorage) until you clear it.",
  };
}

/** The stored conversation (empty when there is none or it is unreadable); `live`: as another tab
 * writes it now. */
export function loadConversation(live = false) {
  try {
    return normalizeConversation(JSON.parse(localStorage.getItem(CONVERSATION_KEY) ?? "{}"), live);
  } catch {
    return normalizeConversation({});
  }
}

/** Store the conversation (an empty one removes the key). False when the browser refused (quota). */
export function saveConversation(conversation) {
  try {
    if (isEmpty(conversation)) {
      localStorage.removeItem(CONVERSATION_KEY);
      return true;
    }
    const { system, messages } = conversation;
    const records = messages.map(({ id, role, content, state, meta, error }) => ({
      id, role, content, state, meta, error,
    }));
    localStorage.setItem(CONVERSATION_KEY, JSON.stringify({ v: 1, system, messages: records }));
    return true;
  } catch {
    return false;
  }
}

export function removeStoredConversation() {
  try {
    localStorage.removeItem(CONVERSATION_KEY);
  } catch {
    // storage disabled: there is nothing to remove
  }
}

/**
 * The messages sent as context for the answer after `upTo` (exclusive): a turn whose answer came to
 * nothing (failed or stopped before its first token) is left out, with its user message.
 */
export function contextBefore(messages, upTo) {
  const out = [];
  for (const m of messages.slice(0, upTo)) {
    if (m.role === "assistant" && !m.content) {
      if (out.length && out[out.length - 1].role === "user") out.pop();
      continue;
    }
    out.push({ role: m.role, content: m.content });
  }
  return out;
}

/** The conversation of this page, and its storage under the policy above. */
export class ConversationStore {
  /** onPolicy(policy): called whenever what is stored, or why not, changes. */
  constructor(onPolicy) {
    this.data = normalizeConversation({});
    this.storeNothing = false;
    this.nodeAllows = null;
    this.full = false;
    this.dirty = false; // changed since last stored: a tab that changed nothing never overwrites another's
    this.timer = 0;
    this.onPolicy = onPolicy;
  }

  policy() {
    const p = storagePolicy(this.storeNothing, this.nodeAllows);
    if (p.store && this.full) {
      return { ...p, note: "The browser's storage is full: the latest changes are not kept." };
    }
    return p;
  }

  /** Change the user's setting or learn the node's; removes what is stored when storage turns off. */
  setPolicy({ storeNothing = this.storeNothing, nodeAllows = this.nodeAllows }) {
    Object.assign(this, { storeNothing, nodeAllows });
    const p = this.policy();
    if (p.wipe) {
      clearTimeout(this.timer);
      removeStoredConversation();
      this.dirty = true; // what the page holds is no longer stored: store it if storage comes back
    } else if (p.store) {
      this.saveNow();
    }
    this.onPolicy(this.policy());
  }

  /** Take what another tab stored (the page shows the same conversation in every tab). */
  reload() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.data = loadConversation(true);
    this.dirty = false;
  }

  has(msg) {
    return this.data.messages.includes(msg);
  }

  /** The conversation changed: store it now, or within SAVE_DELAY_MS (`soon`, for streamed text). */
  changed({ soon = false } = {}) {
    this.dirty = true;
    if (!soon) return this.saveNow();
    this.timer ||= setTimeout(() => this.saveNow(), SAVE_DELAY_MS);
  }

  saveNow() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (!this.dirty || !this.policy().store) return;
    const full = !saveConversation(this.data);
    this.dirty = full;
    if (full !== this.full) {
      this.full = full;
      this.onPolicy(this.policy());
    }
  }
}
