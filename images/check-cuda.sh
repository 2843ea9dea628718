#!/usr/bin/env bash
# Checks a built CUDA node image (the end of `make image-cuda`): images/check-cuda.sh [IMAGE]
#   1. the CUDA backend is there and linked: llama_cpp/lib/libggml-cuda.so, its libcudart.so.13 and
#      libcublas*.so.13 resolved beside it, libcuda.so.1 (the host driver's) among its needs;
#   2. the image starts and serves: a node on a small model from the host's cache (read-only mount);
#      on a machine without a GPU it must log the one "no GPU ... serving on CPU" line, report
#      compute.backend "cpu" in /info and answer a completion; with a GPU (docker --gpus, GPUS=all) it
#      must report backend "cuda".
# Exits non-zero with the reason on the first failure. MODELS_DIR (~/.cache/llamanet/models), MODEL
# (smollm2-135m).
set -euo pipefail
TAG="${TAG:-dev}"
IMAGE="${1:-llamanet/node:$TAG-cuda}"
MODELS_DIR="${MODELS_DIR:-$HOME/.cache/llamanet/models}"
MODEL="${MODEL:-smollm2-135m}"
GPUS="${GPUS:-}"
fail() { echo "check-cuda: FAIL: $*" >&2; exit 1; }

docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "no image $IMAGE (make image-cuda builds it)"
size=$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.2f GB", $1/1e9}')

# 1. the backend library and its links (ldd is in the base image's libc-bin)
libs=$(docker run --rm --entrypoint sh "$IMAGE" -c \
  'd=$(echo /opt/llamanet/lib/python3*/site-packages/llama_cpp/lib); ls "$d"; echo ---; ldd "$d/libggml-cuda.so" || true' 2>&1) \
  || fail "libggml-cuda.so missing or unreadable: $libs"
ldd_out=${libs#*---}
for want in libggml-cuda.so libggml-cpu.so libcudart.so.13 libcublas.so.13 libcublasLt.so.13; do
  grep -qx "$want" <<<"${libs%%---*}" || fail "llama_cpp/lib has no $want"
done
for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13; do
  grep -qE "$lib => /.*/llama_cpp/lib/$lib" <<<"$ldd_out" || fail "libggml-cuda.so does not resolve $lib beside it:$ldd_out"
done
grep -q 'libcuda\.so\.1' <<<"$ldd_out" || fail "libggml-cuda.so is not linked to the driver (libcuda.so.1):$ldd_out"
echo "check-cuda: OK  libggml-cuda.so linked to cudart, cuBLAS and libcuda.so.1 ($size image)"

# 2. the image starts and serves
[ -d "$MODELS_DIR/$MODEL" ] || fail "no $MODELS_DIR/$MODEL: make models"
name="llamanet-check-cuda-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
docker run -d --name "$name" ${GPUS:+--gpus "$GPUS"} -p 127.0.0.1::8000 \
  -v "$MODELS_DIR:/models:ro" -e MODEL_PATH="$MODEL" -e N_CTX=256 -e N_PARALLEL=1 "$IMAGE" >/dev/null
port=$(docker port "$name" 8000/tcp | head -n1 | sed 's/.*://')
ok=""
for _ in $(seq 120); do
  if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then ok=1; break; fi
  [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || break
  sleep 1
done
[ -n "$ok" ] || fail "the node did not become healthy; its log:
$(docker logs --tail 40 "$name" 2>&1)"
backend=$(curl -s "http://127.0.0.1:$port/info" | python3 -c 'import json, sys; c = json.load(sys.stdin)["compute"]; print(c["backend"], c["gpu_layers"], c["note"] or "")')
curl -sf "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
  -d '{"prompt": "Hello", "max_tokens": 4, "temperature": 0}' >/dev/null || fail "no completion"
logs=$(docker logs "$name" 2>&1)
if [ -n "$GPUS" ]; then
  [ "${backend%% *}" = cuda ] || fail "with --gpus $GPUS the node runs on ${backend}"
  echo "check-cuda: OK  the node serves on the GPU: $(grep -m1 -o 'loaded (.*)' <<<"$logs")"
else
  line=$(grep -m1 -o 'N_GPU_LAYERS=.* but no GPU: .*; serving on CPU' <<<"$logs") \
    || fail "no 'no GPU' line in the node's log:
$(tail -n 20 <<<"$logs")"
  [ "${backend%% *}" = cpu ] || fail "/info says ${backend} on a machine without a GPU"
  [ "$(grep -c 'but no GPU' <<<"$logs")" = 1 ] || fail "the 'no GPU' line is not said exactly once"
  echo "check-cuda: OK  without a GPU the image starts, says so and serves on CPU: $line"
fi
