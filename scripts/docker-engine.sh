#!/usr/bin/env bash
# Make sure a Docker engine runs on this machine: install Debian's docker.io (+ docker-compose v1) when
# missing, start `dockerd` in the background when none answers, and wait until `docker info` works.
# Idempotent: a running engine (ours or anyone's) is left alone. Log: $DOCKERD_LOG.
set -euo pipefail

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/llamanet-dockerd.log}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

HERE="$(cd "$(dirname "$0")/.." && pwd)"
WRAPPER=/usr/local/libexec/llamanet-runc
RUNTIME=llamanet-runc

# the NAT of tests/integration/test_nat.py (tests/netlab.py: namespaces, veths, iptables masquerade),
# and the e2e router container's rules, need iproute2 and iptables even where an engine already runs
net_missing=()
command -v ip >/dev/null || net_missing+=(iproute2)
command -v iptables >/dev/null || net_missing+=(iptables)
if [ ${#net_missing[@]} -gt 0 ]; then
  echo "docker-engine: installing ${net_missing[*]} (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${net_missing[@]}" >/dev/null
fi

# `--privileged` containers (kind nodes) need every capability; where this host's bounding set lacks
# CAP_SYS_RESOURCE, runc fails them. Docker then gets a runc wrapper that drops what the host lacks
# (cluster/runc-wrapper.py), registered as the default runtime. Reloaded with SIGHUP if dockerd runs.
needs_wrapper() {
  local bnd
  bnd="$(awk '/^CapBnd:/ {print $2}' /proc/self/status)"
  (( ! (0x$bnd >> 24 & 1) ))
}
install_wrapper() {
  local py
  py="$(command -v python3)"
  $SUDO mkdir -p "$(dirname "$WRAPPER")" /etc/docker
  { echo "#!$py"; cat "$HERE/cluster/runc-wrapper.py"; } | $SUDO tee "$WRAPPER.tmp" >/dev/null
  $SUDO chmod 755 "$WRAPPER.tmp" && $SUDO mv "$WRAPPER.tmp" "$WRAPPER"
  $SUDO "$py" - "$WRAPPER" "$RUNTIME" <<'PY'
import json, os, sys
path = "/etc/docker/daemon.json"
conf = json.load(open(path)) if os.path.exists(path) else {}
conf.setdefault("runtimes", {})[sys.argv[2]] = {"path": sys.argv[1]}
conf["default-runtime"] = sys.argv[2]
json.dump(conf, open(path, "w"), indent=2)
PY
}
if needs_wrapper; then
  install_wrapper
  echo "docker-engine: this host lacks CAP_SYS_RESOURCE; runtime $RUNTIME ($WRAPPER) is Docker's default"
fi

if docker info >/dev/null 2>&1; then
  if needs_wrapper && ! docker info --format '{{.DefaultRuntime}}' | grep -qx "$RUNTIME"; then
    echo "docker-engine: reloading dockerd's configuration (SIGHUP) for runtime $RUNTIME"
    $SUDO pkill -HUP -x dockerd
    for _ in $(seq 1 20); do
      docker info --format '{{.DefaultRuntime}}' | grep -qx "$RUNTIME" && break
      sleep 0.5
    done
  fi
  echo "docker-engine: an engine is running ($(docker version --format '{{.Server.Version}}' 2>/dev/null), runtime $(docker info --format '{{.DefaultRuntime}}'))"
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
    echo "docker-engine: ready after ${i}s ($(docker version --format '{{.Server.Version}}'), runtime $(docker info --format '{{.DefaultRuntime}}'))"
    exit 0
  fi
  sleep 1
done
echo "docker-engine: dockerd did not come up in 60s; last lines of $DOCKERD_LOG:" >&2
tail -n 30 "$DOCKERD_LOG" >&2 || true
exit 1
