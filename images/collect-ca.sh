#!/usr/bin/env bash
# Copy this machine's extra CA certificates (the ones a TLS-intercepting proxy needs) into images/ca/,
# where the Dockerfiles' builder stages pick them up (apt, pip, npm trust them) and the node entrypoint
# trusts them at run time when the folder is mounted. Sources: $EXTRA_CA_CERTS (a PEM file, optional),
# /usr/local/share/ca-certificates/**/*.crt (what update-ca-certificates adds to the system bundle).
# Set CA_BUNDLE=1 to copy the whole system bundle (/etc/ssl/certs/ca-certificates.crt) instead.
# Idempotent: rewrites images/ca/*.crt from the sources each run.
set -euo pipefail
dest="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ca"
mkdir -p "$dest"
rm -f "$dest"/*.crt
n=0
if [ "${CA_BUNDLE:-0}" = 1 ] && [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$dest/system-bundle.crt"; n=1
else
  if [ -d /usr/local/share/ca-certificates ]; then
    while IFS= read -r -d '' f; do
      cp "$f" "$dest/$(basename "$f")"; n=$((n + 1))
    done < <(find /usr/local/share/ca-certificates -name '*.crt' -type f -print0)
  fi
  if [ -n "${EXTRA_CA_CERTS:-}" ]; then
    cp "$EXTRA_CA_CERTS" "$dest/extra-ca.crt"; n=$((n + 1))
  fi
fi
echo "collect-ca: $n certificate file(s) in images/ca/"
