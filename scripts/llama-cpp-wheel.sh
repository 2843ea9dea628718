#!/usr/bin/env bash
# Builds (once) and prints the path of a llama-cpp-python wheel for this machine.
#
# The wheel is cached outside the repo under $LLAMANET_CACHE/wheels, keyed by version, build flags
# and the CPU's feature flags, so reruns and CI reuse it. AMX is compiled out: ggml's AMX kernels
# crash (SIGSEGV in ggml_backend_amx_mul_mat) in VMs that advertise AMX without granting tile state.
set -euo pipefail
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${LLAMANET_CACHE:-$HOME/.cache/llamanet}"
PYTHON="${PYTHON:-python3}"
FLAGS="${LLAMA_CPP_CMAKE_ARGS:--DGGML_NATIVE=ON -DCMAKE_C_FLAGS=-mno-amx-tile\ -mno-amx-int8\ -mno-amx-bf16 -DCMAKE_CXX_FLAGS=-mno-amx-tile\ -mno-amx-int8\ -mno-amx-bf16}"
cpu=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-12)
key=$(printf '%s|%s|%s|%s' "$VERSION" "$FLAGS" "$cpu" "$("$PYTHON" -c 'import sys; print(sys.version_info[:2])')" | sha256sum | cut -c1-16)
dir="$CACHE/wheels/$key"
wheel=$(ls "$dir"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  mkdir -p "$dir"
  echo ">> building llama-cpp-python $VERSION from source (about 4-5 minutes on 2 cores)" >&2
  echo ">> cmake args: $FLAGS" >&2
  log="$dir/build.log"
  ( CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$PYTHON" -m pip wheel --no-deps --no-cache-dir -v "llama-cpp-python==$VERSION" -w "$dir.tmp" >"$log" 2>&1 ) &
  pid=$!
  # progress: the compiler's [n/m] steps as they appear
  while kill -0 "$pid" 2>/dev/null; do
    step=$(grep -o '\[[0-9]*/[0-9]*\]' "$log" 2>/dev/null | tail -n1 || true)
    printf '\r>> compiling llama.cpp %s   ' "${step:-(configuring)}" >&2
    sleep 5
  done
  if ! wait "$pid"; then
    echo; echo "llama-cpp-python build failed; last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1
  fi
  echo >&2
  mv "$dir.tmp"/*.whl "$dir"/ && rmdir "$dir.tmp"
  wheel=$(ls "$dir"/llama_cpp_python-"$VERSION"-*.whl | head -n1)
  echo ">> built $wheel" >&2
fi
echo "$wheel"
