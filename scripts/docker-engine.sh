#!/usr/bin/env bash
# Make sure a Docker engine runs on this machine: install Debian's docker.io (+ docker-compose v1) when
# missing, start `dockerd` in the background when none answers, and wait until `docker info` works.
# Idempotent: a running engine (ours or anyone's) is left alone. Log: $DOCKERD_LOG.
set -euo pipefail

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/llamanet-dockerd.log}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if docker info >/dev/null 2>&1; then
  echo "docker-engine: an engine is running ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  echo "docker-engine: installing ${missing[*]} (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! pgrep -x dockerd >/dev/null; then
  echo "docker-engine: starting dockerd (log: $DOCKERD_LOG)"
  # containerd comes with docker.io; dockerd starts its own when none runs
  $SUDO sh -c "nohup dockerd >>'$DOCKERD_LOG' 2>&1 &"
fi

for i in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker-engine: ready after ${i}s ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "docker-engine: dockerd did not come up in 60s; last lines of $DOCKERD_LOG:" >&2
tail -n 30 "$DOCKERD_LOG" >&2 || true
exit 1
