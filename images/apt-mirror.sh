#!/usr/bin/env bash
# apt-mirror.sh SUITE: print the URI of this machine's apt source that serves SUITE (e.g. `bookworm`,
# `bookworm-security`), so scripts use the site's own mirror instead of a host written into the repo.
# Reads what apt reads: /etc/apt/sources.list and /etc/apt/sources.list.d/*.list (one-line
# `deb [options] URI SUITE COMPONENT...`) and /etc/apt/sources.list.d/*.sources (deb822 stanzas with
# Types/URIs/Suites, `Enabled: no` skipped). Only `deb` entries count; the first match wins.
# With a second argument `--debian`, an entry for another suite whose URI ends in /debian is accepted
# when none serves SUITE (a Debian host of another release: its mirror serves every suite).
# Exits 1, printing nothing, when no source matches. APT_SOURCES_DIR (default /etc/apt) is for tests.
set -euo pipefail

suite="${1:?usage: apt-mirror.sh SUITE [--debian]}"
fallback="${2:-}"
dir="${APT_SOURCES_DIR:-/etc/apt}"

files=()
[[ -f "$dir/sources.list" ]] && files+=("$dir/sources.list")
for f in "$dir"/sources.list.d/*.list "$dir"/sources.list.d/*.sources; do
  [[ -f "$f" ]] && files+=("$f")
done
[[ ${#files[@]} -gt 0 ]] || exit 1

# one "URI SUITE" line per (deb entry, suite), in apt's file order
entries() {
  local f
  for f in "${files[@]}"; do
    if [[ "$f" == *.sources ]]; then
      awk '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
            n = split(uris, u, " "); m = split(suites, s, " ")
            for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
          }
          types = ""; uris = ""; suites = ""; enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { next }                      # continuation lines (Signed-By key blocks)
        {
          key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^[ \t]+/, "")
          if (key == "types") types = $0
          else if (key == "uris") uris = $0
          else if (key == "suites") suites = $0
          else if (key == "enabled") enabled = tolower($0)
        }
        END { flush() }
      ' "$f"
    else
      awk '
        { sub(/#.*/, "") }
        $1 == "deb" {
          i = 2
          if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }   # [arch=amd64 signed-by=...]
          if (i + 1 <= NF) print $i, $(i + 1)
        }
      ' "$f"
    fi
  done
}

list="$(entries)"
uri="$(awk -v s="$suite" '$2 == s { print $1; exit }' <<<"$list")"
if [[ -z "$uri" && "$fallback" == --debian ]]; then
  uri="$(awk '$1 ~ /\/debian\/?$/ { print $1; exit }' <<<"$list")"
fi
[[ -n "$uri" ]] || exit 1
echo "${uri%/}"
