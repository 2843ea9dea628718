#!/bin/sh
# Entrypoint of the node image. `node` (the default command) first makes sure MODEL_PATH is there:
# a catalog name that is not cached in MODELS_DIR (/models) is pulled (`llamanet models pull`); a file
# path is used as is. Other llamanet commands (models, status, check ...) run as given; anything else
# (sh, python3 ...) is executed directly.
# Extra CAs (a TLS-intercepting proxy) for pulls: mount PEM files (*.crt, *.pem) at /etc/llamanet/ca.
set -eu

bundle=""
for cert in /etc/llamanet/ca/*.crt /etc/llamanet/ca/*.pem; do
  [ -f "$cert" ] || continue
  if [ -z "$bundle" ]; then
    bundle=$(mktemp /tmp/ca-bundle.XXXXXX)
    cat "$(python3 -c 'import certifi; print(certifi.where())')" > "$bundle"
  fi
  cat "$cert" >> "$bundle"
done
if [ -n "$bundle" ]; then
  export PIP_CERT="$bundle" SSL_CERT_FILE="$bundle" REQUESTS_CA_BUNDLE="$bundle"
fi

case "${1:-node}" in
  node | models | status | monitor | check | -*) ;;
  *) exec "$@" ;;
esac

if [ "${1:-node}" = node ] && [ -n "${MODEL_PATH:-}" ]; then
  case "$MODEL_PATH" in
    */* | *.gguf) ;;
    *)
      if ! llamanet models path "$MODEL_PATH" >/dev/null 2>&1; then
        echo "llamanet-entrypoint: $MODEL_PATH is not in $MODELS_DIR, pulling it"
        llamanet models pull "$MODEL_PATH"
      fi
      ;;
  esac
fi
exec llamanet "$@"
