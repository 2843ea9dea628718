// One assistant turn against this node, in either API and with or without streaming.
// The caller passes the whole conversation; stopping = aborting the fetch (the server cancels a
// generation when its client disconnects).
import { ApiError, apiFetch, asApiError, errorFromBody } from "./api.js";
import { sseData } from "./sse.js";

/** Native /generate takes one prompt: fold the system prompt and earlier turns into it (a user turn). */
export function foldHistory(messages) {
  const system = messages.filter((m) => m.role === "system").map((m) => m.content).join("\n");
  const turns = messages.filter((m) => m.role !== "system");
  const last = turns[turns.length - 1]?.content ?? "";
  const earlier = turns.slice(0, -1);
  const intro = system ? `Instructions: ${system}\n\n` : "";
  if (!earlier.length) return `${intro}${last}`;
  const transcript = earlier
    .map((m) => `${m.role === "assistant" ? "Assistant" : "User"}: ${m.content}`)
    .join("\n");
  return `${intro}The conversation so far:\n${transcript}\n\nThe user's next message:\n${last}`;
}

function nativeBody(messages, prefs) {
  return {
    prompt: foldHistory(messages),
    model: prefs.model || undefined,
    max_tokens: prefs.maxTokens,
    temperature: prefs.temperature,
  };
}

function openaiBody(messages, prefs) {
  return {
    model: prefs.model || "llamanet",
    messages: messages.map(({ role, content }) => ({ role, content })),
    max_tokens: prefs.maxTokens,
    temperature: prefs.temperature,
    stream: prefs.stream,
    ...(prefs.stream ? { stream_options: { include_usage: true } } : {}),
  };
}

function parseEvent(data) {
  try {
    return JSON.parse(data);
  } catch {
    throw new ApiError(`The node sent a malformed event: ${data.slice(0, 80)}`, { kind: "stream" });
  }
}

async function nativeTurn(messages, prefs, signal, onDelta) {
  const body = nativeBody(messages, prefs);
  if (!prefs.stream) {
    const r = await (await apiFetch("/generate", { method: "POST", body, signal })).json();
    onDelta(r.text ?? "");
    return { tokens: r.tokens_generated, seconds: r.generation_time, model: r.model, node: r.node_id };
  }
  const response = await apiFetch("/generate/stream", { method: "POST", body, signal });
  const stats = {};
  for await (const data of sseData(response)) {
    const ev = parseEvent(data);
    if (ev.error) throw errorFromBody(ev, 0, "stream");
    if (ev.text) onDelta(ev.text);
    if (ev.finished) {
      Object.assign(stats, {
        tokens: ev.tokens_generated,
        seconds: ev.generation_time,
        model: ev.model,
        node: ev.node_id,
      });
      break;
    }
  }
  return stats;
}

async function openaiTurn(messages, prefs, signal, onDelta) {
  const body = openaiBody(messages, prefs);
  const response = await apiFetch("/v1/chat/completions", { method: "POST", body, signal });
  if (!prefs.stream) {
    const r = await response.json();
    onDelta(r.choices?.[0]?.message?.content ?? "");
    return { tokens: r.usage?.completion_tokens, model: r.model };
  }
  const stats = {};
  const started = performance.now();
  for await (const data of sseData(response)) {
    if (data === "[DONE]") break;
    const chunk = parseEvent(data);
    if (chunk.error) throw errorFromBody(chunk, 0, "stream");
    const content = chunk.choices?.[0]?.delta?.content;
    if (content) onDelta(content);
    if (chunk.model) stats.model = chunk.model;
    if (chunk.usage) stats.tokens = chunk.usage.completion_tokens;
  }
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

/**
 * Run one assistant turn. `onDelta(text)` gets each new piece of text.
 * Resolves to stats ({tokens, seconds, model, node}); rejects with ApiError (kind "aborted" on stop).
 */
export async function runTurn(messages, prefs, signal, onDelta) {
  try {
    const turn = prefs.mode === "native" ? nativeTurn : openaiTurn;
    return await turn(messages, prefs, signal, onDelta);
  } catch (err) {
    throw signal?.aborted ? new ApiError("Stopped.", { kind: "aborted" }) : asApiError(err);
  }
}
