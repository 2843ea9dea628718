#!/usr/bin/env bash
# Builds llama-server (the benchmark baseline) from the llama.cpp vendored in the llama-cpp-python
# sdist we use, with the same flags as our wheel. Cached under $LLAMANET_CACHE; prints the binary path.
set -euo pipefail
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${LLAMANET_CACHE:-$HOME/.cache/llamanet}"
PYTHON="${PYTHON:-python3}"
out="$CACHE/llama-server/$VERSION"
bin="$out/build/bin/llama-server"
if [ ! -x "$bin" ]; then
  mkdir -p "$out"
  if [ ! -d "$out/src" ]; then
    echo ">> fetching the llama-cpp-python $VERSION sdist" >&2
    "$PYTHON" -m pip download --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$out" >&2
    mkdir -p "$out/src" && tar -xzf "$out"/llama_cpp_python-"$VERSION".tar.gz -C "$out/src" --strip-components=1
  fi
  flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  echo ">> building llama-server (about 10 minutes on 2 cores)" >&2
  cmake -S "$out/src/vendor/llama.cpp" -B "$out/build" -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >"$out/cmake.log" 2>&1
  cmake --build "$out/build" --target llama-server -j"$(nproc)" 2>&1 | grep --line-buffered -o '^\[ *[0-9]*%\]' >&2 || true
  [ -x "$bin" ] || { echo "llama-server build failed" >&2; exit 1; }
fi
echo "$bin"
