#!/usr/bin/env bash
# Build the images from this checkout: images/build.sh [node|operator|all] (default: all).
# Tags: llamanet/node:$TAG and llamanet/operator:$TAG (TAG=dev). Makes sure the base image exists
# (make-base.sh) and copies this machine's extra CAs into images/ca/ (collect-ca.sh) first.
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
  local name="$1" log="$LOG_DIR/$1.log" start
  start=$(date +%s)
  echo "build: llamanet/$name:$TAG from images/$name.Dockerfile (log: ${log#"$root"/})"
  if ! docker build -f "$root/images/$name.Dockerfile" -t "llamanet/$name:$TAG" ${BUILD_ARGS:-} "$root" 2>&1 \
      | tee "$log" | grep --line-buffered -E '^(Step [0-9]+/[0-9]+ :|#[0-9]+ \[)' | sed -u -e 's/^\(.\{140\}\).*/\1/' -e 's/^/  /'; then
    echo "build: llamanet/$name:$TAG FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  echo "build: llamanet/$name:$TAG built in $(($(date +%s) - start))s," \
    "$(docker image inspect -f '{{.Size}}' "llamanet/$name:$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
}

case "$what" in
  node | operator) build "$what" ;;
  all) build node && build operator ;;
  *) echo "usage: $0 [node|operator|all]" >&2; exit 2 ;;
esac
