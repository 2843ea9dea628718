// Server-sent events parser: bytes in (any chunking), `data` payloads out.
// Multibyte UTF-8 characters split across reads are decoded correctly (TextDecoder, stream: true),
// events end at a blank line, lines end at \n, \r\n or \r (even when \r\n straddles two reads), and
// several `data:` lines of one event are joined with \n, as the SSE spec says.

export class SSEParser {
  constructor() {
    this.decoder = new TextDecoder("utf-8");
    this.buffer = "";
    this.data = [];
  }

  /** Feed a chunk (Uint8Array or string); returns the `data` of each event it completed. */
  push(chunk) {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.drain(false);
  }

  /** End of stream: flush the decoder and dispatch a last unterminated event. */
  end() {
    this.buffer += this.decoder.decode();
    return this.drain(true);
  }

  drain(final) {
    const out = [];
    const eol = /\r\n|\r|\n/g;
    let start = 0;
    let m;
    while ((m = eol.exec(this.buffer)) !== null) {
      // a lone \r at the very end may be the first half of \r\n: wait for the next read
      if (!final && m[0] === "\r" && m.index === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, m.index), out);
      start = eol.lastIndex;
    }
    this.buffer = this.buffer.slice(start);
    if (final) {
      if (this.buffer) this.line(this.buffer, out);
      this.buffer = "";
      this.line("", out);
    }
    return out;
  }

  line(line, out) {
    if (line === "") {
      if (this.data.length) out.push(this.data.join("\n"));
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
  }
}

/** Async iterator over the `data` payloads of a fetch Response's SSE body. */
export async function* sseData(response) {
  const reader = response.body.getReader();
  const parser = new SSEParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.push(value);
    }
    yield* parser.end();
  } finally {
    // stop reading (and close the connection) when the consumer leaves early, e.g. at [DONE]
    reader.cancel().catch(() => {});
  }
}
