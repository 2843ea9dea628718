#!/usr/bin/env bash
# Runs a local LlamaNet swarm: NODES nodes serving MODEL. Node i listens on PORT+2i (HTTP, web UI) and
# DHT_PORT+2i (UDP); every node after the first bootstraps from the first over the DHT. The CPU cores
# are shared out between the nodes. Ctrl-C stops them all.
set -euo pipefail
BIN="${BIN:-.venv/bin}"
MODEL="${MODEL:-smollm2-135m}"
NODES="${NODES:-2}"
PORT="${PORT:-8000}"
DHT_PORT="${DHT_PORT:-8001}"
threads=$(( $(nproc) / NODES )); [ "$threads" -ge 1 ] || threads=1
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
for i in $(seq 0 $((NODES - 1))); do
  port=$((PORT + 2 * i)); dht=$((DHT_PORT + 2 * i))
  args=(node --model-path "$MODEL" --port "$port" --dht-port "$dht" --n-threads "$threads" --node-id "local-$i")
  if [ "$i" -gt 0 ]; then args+=(--bootstrap-nodes "localhost:$DHT_PORT"); fi
  "$BIN/llamanet" "${args[@]}" &
  pids+=($!)
done
echo ">> LlamaNet local swarm of $NODES x $MODEL: web UI and API at http://localhost:$PORT" \
     "(other nodes on $((PORT + 2)).. ); Ctrl-C stops all nodes" >&2
wait -n
