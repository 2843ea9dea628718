#!/usr/bin/env bash
# Build the images from this checkout: images/build.sh [node|operator|all|node-cuda] (default: all).
# Tags: llamanet/node:$TAG and llamanet/operator:$TAG (TAG=dev); node-cuda (not in `all`: its compile
# takes hours, `make image-cuda`) is llamanet/node:$TAG-cuda from images/node-cuda.Dockerfile.
# Makes sure the base image exists (make-base.sh) and copies this machine's extra CAs into images/ca/
# (collect-ca.sh) first.
# Progress: one line per Dockerfile step; the full output goes to $LOG_DIR/<image>.log, and its tail is
# printed when a build fails. Layer caching is the engine's own: a rebuild only redoes changed steps.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${TAG:-dev}"
LOG_DIR="${LOG_DIR:-$root/artifacts/images}"
what="${1:-all}"
mkdir -p "$LOG_DIR"

"$root/images/make-base.sh"
"$root/images/collect-ca.sh"

build() {
  local name="$1" log="$LOG_DIR/$1.log" start image="llamanet/$1:$TAG"
  [ "$name" = node-cuda ] && image="llamanet/node:$TAG-cuda"
  start=$(date +%s)
  echo "build: $image from images/$name.Dockerfile (log: ${log#"$root"/})"
  if ! docker build -f "$root/images/$name.Dockerfile" -t "$image" ${BUILD_ARGS:-} "$root" 2>&1 \
      | tee "$log" | grep --line-buffered -E '^(Step [0-9]+/[0-9]+ :|#[0-9]+ \[)' | sed -u -e 's/^\(.\{140\}\).*/\1/' -e 's/^/  /'; then
    echo "build: $image FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  echo "build: $image built in $(($(date +%s) - start))s," \
    "$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"
}

case "$what" in
  node | operator | node-cuda) build "$what" ;;
  all) build node && build operator ;;
  *) echo "usage: $0 [node|operator|all|node-cuda]" >&2; exit 2 ;;
esac
