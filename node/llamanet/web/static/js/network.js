// The swarm panel: every node (model, load, tokens/s, uptime, health) and this node's DHT view,
// refreshed every POLL_MS. Records come from other peers: they are shown with textContent only.
// Falls back to this node's /status where the node has no /swarm/nodes.
import { apiFetch } from "./api.js";

export const POLL_MS = 2000;
const GONE_MS = 10000; // a node that left stays listed (struck out) this long

const $el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
};

export function formatUptime(s) {
  const n = Math.max(0, Math.floor(Number(s) || 0));
  if (n < 60) return `${n}s`;
  if (n < 3600) return `${Math.floor(n / 60)}m ${n % 60}s`;
  if (n < 86400) return `${Math.floor(n / 3600)}h ${Math.floor((n % 3600) / 60)}m`;
  return `${Math.floor(n / 86400)}d ${Math.floor((n % 86400) / 3600)}h`;
}

// Peers' strings lose control characters (terminal escapes, bidi overrides, zero-width marks) and are
// cut to a sane length before they are shown.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
export function clean(value, max = 256) {
  const text = String(value ?? "").replace(CONTROL, "");
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const num = (v, digits = 1) => (Number.isFinite(Number(v)) ? Number(v).toFixed(digits) : "–");

async function optionalJSON(path, allow) {
  const r = await apiFetch(path, { allow });
  return r.ok ? { status: r.status, body: await r.json() } : { status: r.status, body: null };
}

const RETRY_MISSING_MS = 15000;

function fromRecord(rec, selfHealth) {
  const self = Boolean(rec.is_self);
  let health = Number(rec.expires_in) > 0 ? "ok" : "stale";
  if (self) health = selfHealth;
  return {
    id: clean(rec.node_id),
    name: clean(rec.name || clean(rec.node_id || "?").slice(0, 12), 64),
    site: rec.site ? clean(rec.site, 64) : "",
    models: (rec.models || []).map((m) => clean(m, 128)),
    busy: Number(rec.active_requests ?? 0),
    slots: Number(rec.slots_total ?? 0),
    queued: Number(rec.queue_depth ?? 0),
    tps: rec.tokens_per_s,
    uptime: rec.uptime_s,
    url: clean((rec.urls || [])[0] || ""),
    self,
    health,
  };
}

function fromStatus(st, selfHealth) {
  return {
    id: clean(st.node_id),
    name: clean(st.node_id).slice(0, 12),
    site: "",
    models: [clean(st.model, 128)],
    busy: Number(st.active_requests ?? 0),
    slots: Number(st.slots_total ?? 0),
    queued: Number(st.queue_depth ?? 0),
    tps: st.tokens_per_second,
    uptime: st.uptime,
    url: location.origin,
    self: true,
    health: selfHealth,
  };
}

export class NetworkPanel {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("#node-list");
    this.summary = root.querySelector("#swarm-summary");
    this.dht = root.querySelector("#dht-info");
    this.banner = root.querySelector("#network-banner");
    this.known = new Map(); // id -> {node, misses, goneAt}
    this.timer = null;
    this.missing = {}; // path -> time it answered 404 (nodes without the swarm API: ask again later)
  }

  start() {
    const loop = async () => {
      await this.tick();
      this.timer = setTimeout(loop, POLL_MS);
    };
    loop();
  }

  async tick() {
    try {
      const health = await optionalJSON("/health", [503]);
      const selfHealth = health.status === 200 ? "ok" : "loading";
      const swarm = await this.optional("/swarm/nodes");
      let nodes;
      if (swarm.body) {
        nodes = (swarm.body.nodes || []).map((r) => fromRecord(r, selfHealth));
        this.mode = "swarm";
      } else {
        nodes = [fromStatus((await optionalJSON("/status", [])).body, selfHealth)];
        this.mode = "local";
      }
      const dht = await this.optional("/dht/status");
      this.update(nodes, dht.body);
      this.setBanner("");
    } catch (err) {
      if (err.kind === "network") {
        for (const entry of this.known.values()) if (entry.node.self) entry.node.health = "down";
      }
      this.setBanner(err.kind === "network" ? `This node is unreachable. ${err.message}` : err.message);
      this.update(null, undefined);
    }
  }

  /** GET an endpoint this node may lack (404, 503): then ask again only every RETRY_MISSING_MS. */
  async optional(path) {
    if (Date.now() - (this.missing[path] ?? -Infinity) < RETRY_MISSING_MS) return { status: 404, body: null };
    const r = await optionalJSON(path, [404, 503]); // 503: this node runs without a DHT peer
    if (!r.body) this.missing[path] = Date.now();
    else delete this.missing[path];
    return r;
  }

  setBanner(text) {
    this.banner.textContent = text;
    this.banner.hidden = !text;
  }

  update(nodes, dht) {
    const now = Date.now();
    if (nodes) {
      const ids = new Set(nodes.map((n) => n.id));
      for (const n of nodes) this.known.set(n.id, { node: n, misses: 0, goneAt: 0 });
      for (const [id, entry] of this.known) {
        if (ids.has(id)) continue;
        // missing from two polls in a row: gone (one miss may be a lookup racing a record refresh)
        entry.misses += 1;
        if (entry.misses < 2) continue;
        entry.goneAt ||= now;
        entry.node.health = "gone";
        if (now - entry.goneAt > GONE_MS) this.known.delete(id);
      }
    }
    this.renderNodes();
    if (dht !== undefined) this.renderDht(dht);
  }

  renderNodes() {
    const entries = [...this.known.values()].sort(
      (a, b) => Number(b.node.self) - Number(a.node.self) || a.node.name.localeCompare(b.node.name),
    );
    const alive = entries.filter((e) => e.node.health !== "gone");
    const models = new Set(alive.flatMap((e) => e.node.models));
    const where = this.mode === "local" ? " (this node only: no swarm view here)" : "";
    this.summary.textContent =
      `${alive.length} node${alive.length === 1 ? "" : "s"} · ${models.size} model${models.size === 1 ? "" : "s"}${where}`;
    this.list.replaceChildren(...entries.map((e) => this.nodeItem(e.node)));
  }

  nodeItem(n) {
    const li = $el("li", "node");
    li.dataset.nodeId = n.id;
    li.dataset.state = n.health;
    const head = $el("div", "node-head");
    head.append($el("span", `dot ${n.health}`), $el("strong", "node-name", n.name));
    if (n.self) head.append($el("span", "tag", "this node"));
    head.title = `${n.id}${n.url ? ` · ${n.url}` : ""}`;
    const stats = $el("dl", "node-stats");
    const load = `${n.busy}/${n.slots || "?"} busy${n.queued ? ` · ${n.queued} queued` : ""}`;
    const rows = [
      ["model", n.models.join(", ") || "–"],
      ...(n.site ? [["site", n.site]] : []),
      ["load", load],
      ["tok/s", num(n.tps)],
      ["uptime", formatUptime(n.uptime)],
      ["health", n.health],
    ];
    for (const [k, v] of rows) stats.append($el("dt", "", k), $el("dd", `stat-${k.replace("/", "")}`, v));
    li.append(head, stats);
    return li;
  }

  renderDht(d) {
    if (!d) {
      this.dht.replaceChildren($el("p", "muted", "DHT status is not available on this node."));
      return;
    }
    const peers = Array.isArray(d.peers) ? d.peers : [];
    const rt = d.routing_table || {};
    const rtSize = rt.size ?? rt.contacts ?? rt.total ?? rt.nodes ?? (Array.isArray(rt.buckets) ? rt.buckets.length : "–");
    const stats = $el("dl", "node-stats");
    const rows = [
      ["joined", d.joined ? "yes" : "no"],
      ["peers", peers.length],
      ["routing table", typeof rtSize === "object" ? JSON.stringify(rtSize) : rtSize],
    ];
    for (const [k, v] of rows) stats.append($el("dt", "", k), $el("dd", "", v));
    const list = $el("ul", "peer-list");
    for (const p of peers.slice(0, 20)) {
      const addr = typeof p === "string" ? p : `${p.host ?? p.ip ?? "?"}:${p.port ?? "?"}`;
      const label = p && p.id ? `${String(p.id).slice(0, 8)} ${addr}` : addr;
      list.append($el("li", "", label));
    }
    this.dht.replaceChildren(stats, list);
  }
}
