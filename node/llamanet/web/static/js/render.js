// Model output is untrusted: markdown -> HTML -> DOMPurify, code blocks highlighted by highlight.js.
// The libraries are vendor files built by scripts/build-web.sh; without them replies show as text.

let lib = null;
let loading = null;

export function loadRenderer() {
  loading ??= Promise.all([
    import("../vendor/marked.esm.js"),
    import("../vendor/purify.es.js"),
    import("../vendor/highlight.min.js"),
  ])
    .then(([markedMod, purifyMod, hljsMod]) => {
      const purify = purifyMod.default;
      const hljs = hljsMod.default;
      const marked = new markedMod.Marked({ gfm: true, breaks: true });
      marked.use({ renderer: { code: (token) => codeBlock(hljs, token) } });
      purify.addHook("afterSanitizeAttributes", (node) => {
        if (node.tagName === "A") {
          node.setAttribute("target", "_blank");
          node.setAttribute("rel", "noopener noreferrer");
        }
      });
      lib = { marked, purify };
      return true;
    })
    .catch((err) => {
      console.warn("markdown libraries missing (run scripts/build-web.sh); showing plain text", err);
      return false;
    });
  return loading;
}

export function escapeHtml(text) {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}

function codeBlock(hljs, { text, lang }) {
  const language = (lang || "").trim().split(/\s+/)[0].toLowerCase();
  let body = escapeHtml(text);
  let cls = "hljs";
  if (language && hljs.getLanguage(language)) {
    try {
      body = hljs.highlight(text, { language, ignoreIllegals: true }).value;
      cls = `hljs language-${escapeHtml(language)}`;
    } catch {
      // keep the escaped text
    }
  }
  return `<pre><code class="${cls}">${body}</code></pre>\n`;
}

/** Sanitized HTML for a markdown string (plain escaped text if the libraries are missing). */
export function renderMarkdown(text) {
  if (!lib) return `<p class="plain">${escapeHtml(text)}</p>`;
  const html = lib.marked.parse(String(text), { async: false });
  return lib.purify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"],
  });
}

const VOID = new Set(["IMG", "BR", "HR", "INPUT"]);

/** Render `text` into `el`; while streaming, an animated cursor follows the last character. */
export function renderInto(el, text, streaming) {
  el.innerHTML = renderMarkdown(text);
  if (!streaming) return;
  let target = el;
  while (target.lastElementChild && !VOID.has(target.lastElementChild.tagName)) {
    target = target.lastElementChild;
  }
  const cursor = document.createElement("span");
  cursor.className = "cursor";
  cursor.setAttribute("aria-hidden", "true");
  target.appendChild(cursor);
}
