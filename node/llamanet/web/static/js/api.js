// fetch() against this node with the API key, and errors a person can read.
import { loadPrefs } from "./prefs.js";

export class ApiError extends Error {
  /** kind: "network" | "http" | "stream" | "aborted" */
  constructor(message, { kind = "http", status = 0, type = "", code = "" } = {}) {
    super(message);
    this.name = "ApiError";
    Object.assign(this, { kind, status, type, code });
  }
}

export function authHeaders(extra = {}) {
  const { apiKey } = loadPrefs();
  return apiKey ? { ...extra, Authorization: `Bearer ${apiKey}` } : { ...extra };
}

/** The OpenAI-style `{"error": {"message", "type", "code"}}` body as an ApiError. */
export function errorFromBody(body, status = 0, kind = "http") {
  const e = body && typeof body === "object" ? (body.error ?? body) : {};
  const detail = typeof e === "string" ? e : (e.message ?? e.detail ?? "");
  return new ApiError(String(detail || "unknown error"), {
    kind,
    status,
    type: e.type ?? "",
    code: e.code ?? "",
  });
}

async function httpError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = { error: { message: response.statusText || `HTTP ${response.status}` } };
  }
  const err = errorFromBody(body, response.status);
  const retry = response.headers.get("Retry-After");
  if (response.status === 429) {
    err.message = `The node is busy (too many requests queued)${retry ? `; retry in ${retry} s` : ""}. ${err.message}`;
  } else if (response.status === 401) {
    err.message = `This node needs an API key (open "API key" and paste it). ${err.message}`;
  } else if (response.status === 404 && err.code === "model_not_found") {
    err.message = `Model not available: ${err.message}`;
  } else if (response.status >= 500) {
    err.message = `Server error ${response.status}: ${err.message}`;
  } else {
    err.message = `Request refused (${response.status}): ${err.message}`;
  }
  return err;
}

/** fetch() that throws ApiError on network failure, abort, or a non-2xx answer. */
export async function apiFetch(path, { method = "GET", body, signal, allow = [] } = {}) {
  const init = { method, signal, headers: authHeaders(), cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw asApiError(err);
  }
  if (!response.ok && !allow.includes(response.status)) throw await httpError(response);
  return response;
}

/** Map fetch/stream exceptions (TypeError, AbortError) to ApiError. */
export function asApiError(err) {
  if (err instanceof ApiError) return err;
  if (err && err.name === "AbortError") return new ApiError("Stopped.", { kind: "aborted" });
  return new ApiError("Cannot reach the node: the network is down or the node stopped.", {
    kind: "network",
  });
}

export async function getJSON(path, opts = {}) {
  const r = await apiFetch(path, opts);
  return r.status === 200 ? r.json() : null;
}
