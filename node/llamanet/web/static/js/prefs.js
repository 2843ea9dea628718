// Settings the user picks, kept in localStorage (the API key too: it never leaves this origin).
export const PREFS_KEY = "llamanet.prefs.v1";

export const DEFAULTS = Object.freeze({
  apiKey: "",
  mode: "openai", // "openai": /v1/chat/completions, "native": /generate(/stream)
  stream: true,
  model: "",
  maxTokens: 256,
  temperature: 0.7,
  storeNothing: false, // "Store nothing in this browser": no conversation in localStorage (history.js)
});

export const LIMITS = Object.freeze({
  maxTokens: { min: 1, max: 2048 },
  temperature: { min: 0, max: 2 },
});

function clamp(value, { min, max }, fallback) {
  const n = Number(value);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, n));
}

/** Coerce anything (stored JSON, form values) into valid prefs. */
export function normalize(raw) {
  const p = { ...DEFAULTS, ...(raw && typeof raw === "object" ? raw : {}) };
  return {
    apiKey: String(p.apiKey ?? "").trim(),
    mode: p.mode === "native" ? "native" : "openai",
    stream: Boolean(p.stream),
    model: String(p.model ?? ""),
    maxTokens: Math.round(clamp(p.maxTokens, LIMITS.maxTokens, DEFAULTS.maxTokens)),
    temperature: Math.round(clamp(p.temperature, LIMITS.temperature, DEFAULTS.temperature) * 100) / 100,
    storeNothing: p.storeNothing === true,
  };
}

export function loadPrefs() {
  try {
    return normalize(JSON.parse(localStorage.getItem(PREFS_KEY) ?? "{}"));
  } catch {
    return normalize({});
  }
}

export function savePrefs(prefs) {
  const p = normalize(prefs);
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(p));
  } catch {
    // storage full or disabled: prefs last for this page only
  }
  return p;
}
