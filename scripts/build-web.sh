#!/usr/bin/env bash
# Build the web UI's vendor files: `npm ci` in web/ (pinned by web/package-lock.json), then copy the few
# dist files the page imports into node/llamanet/web/static/vendor/ (gitignored). Nothing is fetched at
# run time: the page only loads files from /static. Idempotent: a stamp (hash of the lock file and of
# this script) makes a second run a no-op.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
vendor="$root/node/llamanet/web/static/vendor"
stamp="$vendor/.stamp"

# source (relative to web/node_modules) -> name under vendor/
files=(
  "marked/lib/marked.esm.js:marked.esm.js"
  "dompurify/dist/purify.es.mjs:purify.es.js"
  "@highlightjs/cdn-assets/es/highlight.min.js:highlight.min.js"
  "@highlightjs/cdn-assets/styles/github.min.css:hljs-light.css"
  "@highlightjs/cdn-assets/styles/github-dark.min.css:hljs-dark.css"
  "marked/LICENSE:licenses/marked.txt"
  "dompurify/LICENSE:licenses/dompurify.txt"
  "@highlightjs/cdn-assets/LICENSE:licenses/highlight.js.txt"
)

want="$(cat "$web/package-lock.json" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
complete=1
for pair in "${files[@]}"; do
  [[ -s "$vendor/${pair#*:}" ]] || complete=0
done
if [[ $complete == 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

command -v npm >/dev/null || { echo "build-web: npm (Node.js >= 18) is needed to build the web UI" >&2; exit 1; }
(cd "$web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
rm -rf "$vendor"
mkdir -p "$vendor/licenses"
for pair in "${files[@]}"; do
  cp "$web/node_modules/${pair%%:*}" "$vendor/${pair#*:}"
done
echo "$want" > "$stamp"
echo "build-web: vendor files in ${vendor#"$root"/}"
