#!/usr/bin/env bash
# The GPU check, in one go, on a bare GPU host with no network (images/README.md, "GPU check"):
#
#   bash scripts/gpu-check.sh                 # there: the repo's tree plus .gpu-bundle (scripts/gpu-bundle.sh)
#   GPU_CHECK_CPU=1 scripts/gpu-check.sh      # the same flow without CUDA (scripts/gpu-rehearse.sh runs it here)
#   GPU_CHECK_PREBUILD=1 NVCC=... CUDA_ARCHITECTURES=90-real scripts/gpu-check.sh
#                                             # step 2 only, on a machine without a GPU (scripts/gpu-prebuild.sh):
#                                             # the CUDA build packed into the bundle (prebuilt-<key>.tar.xz),
#                                             # which a check with the same key unpacks instead of building
#
# 1. says what the host has (GPU, driver, nvcc, CMake, Python) and stops early where the bundle's Python
#    version is not the host's;
# 2. builds llama.cpp from the bundle's sources with CMake: GGML_CUDA=ON (GGML_BACKEND_DL=ON, the CUDA
#    image's flags) for the GPU's own architecture (nvidia-smi's compute_cap, else 90), libllama, the
#    ggml backends and llama-server from the same tree in one build. Cached in $GPU_CHECK_WORK, so a rerun
#    on the same (still warm) machine skips it;
# 3. installs the bundle's wheels into a folder of its own (no index; the host's numpy and uvloop serve)
#    and llama_cpp's Python package with its lib/ pointing at that build;
# 4. bench/gpu_check.py: random-weight models (tests/randmodel.py), a node with N_GPU_LAYERS=-1 (/info
#    must say cuda, all layers), a chat stream through the OpenAI SDK, VRAM per server, and
#    bench/node_throughput.py against llama-server (single stream, 8 concurrent, TTFT).
#
# Everything goes to $OUT (the device tool's folder that comes back; else artifacts/gpu-check):
# gpu-check.log (all output), results.md and results.json, logs.tar.gz (build, servers). Exit status 0
# only when every check passed. GPU_CHECK_BUDGET (seconds, default 540) bounds the whole run: the big
# model is left out when too little is left after the small one.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="${GPU_BUNDLE:-$root/.gpu-bundle}"
OUT="${OUT:-$root/artifacts/gpu-check}"
CPU="${GPU_CHECK_CPU:-0}"
PREBUILD="${GPU_CHECK_PREBUILD:-}"
WORK="${GPU_CHECK_WORK:-/tmp/llamanet-gpu-check}"
JOBS="${JOBS:-$(nproc)}"
BUDGET="${GPU_CHECK_BUDGET:-540}"
PYTHON="${PYTHON:-python3}"
start=$(date +%s)
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
tee_pid=$!
finish() { exec >&- 2>&-; wait "$tee_pid" 2>/dev/null; exit "$1"; }  # the whole log is in $OUT on return
say() { printf '[%4ds] %s\n' "$(($(date +%s) - start))" "$*"; }
fail() { say "FAILED: $*"; collect; finish 1; }
collect() {
  local logs=()
  for f in "${build:-/-}/cmake.log" "${build:-/-}/build.log" "$WORK/logs"; do [ -e "$f" ] && logs+=("$f"); done
  [ "${#logs[@]}" -gt 0 ] && tar -czf "$OUT/logs.tar.gz" "${logs[@]}" 2>/dev/null
  true
}

say "gpu-check: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'no git') on $(hostname), $(nproc) cores, mode $([ "$CPU" = 1 ] && echo CPU || echo CUDA)"
[ -f "$BUNDLE/MANIFEST" ] || fail "no bundle at $BUNDLE: run scripts/gpu-bundle.sh here first and carry .gpu-bundle"
want=$(sed -n 's/^python //p' "$BUNDLE/MANIFEST")
have=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
say "python: $(command -v "$PYTHON") $("$PYTHON" -V 2>&1); bundle: $(head -n3 "$BUNDLE/MANIFEST" | paste -sd';')"
[ -n "$PREBUILD" ] || [ "$want" = "$have" ] || fail "the bundle's wheels are for Python $want, this host's $PYTHON is $have (GPU_PYTHON_VERSION=$have scripts/gpu-bundle.sh)"
say "cmake: $(cmake --version | head -n1); ninja: $(ninja --version 2>/dev/null || echo none); $(gcc --version | head -n1)"
arch=""
if [ "$CPU" != 1 ] && [ -z "$PREBUILD" ]; then
  command -v nvidia-smi >/dev/null || fail "no nvidia-smi: not a GPU host (GPU_CHECK_CPU=1 for the CPU flow)"
  say "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader | head -n1)"
fi
if [ "$CPU" != 1 ]; then
  nvcc="${NVCC:-$(command -v nvcc || true)}"
  if [ -z "$nvcc" ]; then  # not on PATH: the usual toolkit folders, then the Python environment's wheels
    for c in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc /opt/cuda/bin/nvcc \
      "$(dirname "$(command -v "$PYTHON")")/nvcc" \
      "$("$PYTHON" -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null)"/nvidia/cu*/bin/nvcc; do
      [ -x "$c" ] && { nvcc="$c"; break; }
    done
  fi
  [ -x "${nvcc:-/-}" ] || fail "no nvcc (PATH, /usr/local/cuda*/bin, the Python's nvidia wheels; NVCC=...)"
  nvcc_version=$("$nvcc" --version | grep -o 'release [0-9.]*, V[0-9.]*')
  nvcc_release=$(echo "$nvcc_version" | cut -d' ' -f2 | tr -d ,)
  say "nvcc: $nvcc, $nvcc_version"
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d ' .')
  arch="${CUDA_ARCHITECTURES:-${cap:-90}-real}"
fi

# 2. the build: libllama + backends + llama-server, one tree, one configure
flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF
  -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF
  -DGGML_AMX_BF16=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF)
if [ "$CPU" = 1 ]; then
  flags+=(-DGGML_CUDA=OFF)
else
  flags+=(-DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF "-DCMAKE_CUDA_ARCHITECTURES=$arch" "-DCMAKE_CUDA_COMPILER=$nvcc")
fi
command -v ninja >/dev/null && flags+=(-G Ninja)
# the key: the sources, the flags and the compiler's release, not its path (a prebuilt one is from elsewhere)
key=$( { sha256sum "$BUNDLE/llama.cpp.tar.gz" | cut -c1-64; printf '%s\n' "${flags[@]}" \
  | sed "s|^-DCMAKE_CUDA_COMPILER=.*|nvcc ${nvcc_release:-}|"; } | sha256sum | cut -c1-12)
build="$WORK/build-$key"
bin="$build/build/bin"
prebuilt="$BUNDLE/prebuilt-$key.tar.xz"
if [ -f "$build/.complete" ]; then
  say "build: cached in $build"
elif [ -z "$PREBUILD" ] && [ -f "$prebuilt" ]; then
  rm -rf "$build" && mkdir -p "$bin"
  tar -xJf "$prebuilt" -C "$bin" || fail "unpacking $prebuilt"
  touch "$build/.complete"
  say "build: prebuilt, from the bundle ($(basename "$prebuilt"))"
else
  rm -rf "$build" && mkdir -p "$build/src"
  tar -xzf "$BUNDLE/llama.cpp.tar.gz" -C "$build/src" || fail "unpacking the sources"
  say "build: configure ($(cat "$build/src/VERSION"), ${arch:-no CUDA}, $JOBS jobs, key $key; prebuilt in the bundle: $(cd "$BUNDLE" && ls prebuilt-*.tar.xz 2>/dev/null | paste -sd" " || echo none))"
  cmake -S "$build/src/llama.cpp" -B "$build/build" "${flags[@]}" >"$build/cmake.log" 2>&1 \
    || { tail -n 30 "$build/cmake.log"; fail "cmake configure (cmake.log in logs.tar.gz)"; }
  grep -E 'CUDA Toolkit found|Found CUDAToolkit|Using CMAKE_CUDA_ARCH|Including .* backend' "$build/cmake.log" | sed 's/^/    /'
  cmake --build "$build/build" --target llama-server -j"$JOBS" >"$build/build.log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    say "build: $(grep -oE '^\[[0-9]+/[0-9]+\]|^\[ *[0-9]+%\]' "$build/build.log" | tail -n1)"
  done
  wait "$pid" || { tail -n 40 "$build/build.log"; fail "the llama.cpp build (build.log in logs.tar.gz)"; }
  touch "$build/.complete"
  say "build: done"
fi
ls "$bin"/lib*.so "$bin"/llama-server | sed "s|^$bin/|    |" | paste -sd' '
[ "$CPU" = 1 ] || [ -f "$bin/libggml-cuda.so" ] || fail "no libggml-cuda.so in the build"
# how the build links the C++ runtime: a host whose build crashed the node in std::regex (not
# llama-server) is told apart by these (docs/benchmarks.md, "On a GPU")
say "build: libllama needs $(readelf -d "$bin/libllama.so" | grep -o 'libstdc++[^]]*' || echo 'no libstdc++ (static?)');" \
  "libggml exports $(nm -D --defined-only "$bin/libggml.so" | c++filt | grep -cE 'std::(locale|codecvt|ctype)') C++ runtime locale symbols"
if [ -n "$PREBUILD" ]; then  # the build's libraries and llama-server, their version links kept
  (cd "$bin" && tar -cf - lib*.so* llama-server) | xz -T0 -6 >"$prebuilt.tmp" && mv "$prebuilt.tmp" "$prebuilt" \
    || fail "packing $prebuilt"
  say "prebuild: $prebuilt ($(du -h "$prebuilt" | cut -f1)), key $key"
  finish 0
fi
# the build's own folder (a prebuilt build's RUNPATH names the default GPU_CHECK_WORK's), and the CUDA
# runtime libraries of this host's toolkit, where a build made elsewhere looks for them
libs="$bin"
if [ "$CPU" != 1 ]; then
  cuda_root="$(dirname "$(dirname "$nvcc")")"
  libs="$libs:$cuda_root/lib64:$cuda_root/targets/x86_64-linux/lib:$cuda_root/lib"
fi
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# 3. Python: the bundle's wheels (no index) and llama_cpp over this build's libraries
site="$WORK/site-$have-$(sha256sum "$BUNDLE/MANIFEST" | cut -c1-8)"
if [ ! -f "$site/.complete" ]; then
  rm -rf "$site"
  env -u PIP_FIND_LINKS PIP_NO_INDEX=1 "$PYTHON" -m pip install -q --no-index --no-deps --no-compile \
    --no-cache-dir --disable-pip-version-check --target "$site" "$BUNDLE"/wheels/*.whl \
    || fail "installing the bundle's wheels"
  tar -xzf "$BUNDLE/llama.cpp.tar.gz" -C "$site" ./llama_cpp || fail "unpacking llama_cpp"
  touch "$site/.complete"
fi
rm -rf "$site/llama_cpp/lib" && ln -s "$bin" "$site/llama_cpp/lib"
export PYTHONPATH="$site:$root/common:$root/node:$root" PYTHONUNBUFFERED=1 PIP_NO_INDEX=1
"$PYTHON" -c 'import llamanet.cli.main, llamanet.api.app, openai, llama_cpp; print("    imports: ok, llama_cpp", llama_cpp.__version__)' \
  || fail "the node's imports (a wheel missing from the bundle?)"

# 4. models, node, OpenAI stream, VRAM, benchmark
# the models (3.8 GiB for the 8B body) in memory where there is room: written at memory speed
models="$WORK/models"
shm_kib=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
[ "$CPU" != 1 ] && [ "${shm_kib:-0}" -gt $((12 * 1024 * 1024)) ] && models=/dev/shm/llamanet-gpu-check-models
rm -rf "$WORK/logs" && mkdir -p "$WORK/logs" "$models"
left=$((BUDGET - ($(date +%s) - start)))
args=(--llama-server "$bin/llama-server" --tokenizer "$BUNDLE/tokenizer.gguf" --models "$models"
  --out "$OUT" --seconds "$left")
[ "$CPU" = 1 ] && args+=(--cpu)
say "check: bench/gpu_check.py, $left s left"
TMPDIR="$WORK/logs" "$PYTHON" "$root/bench/gpu_check.py" "${args[@]}"   # server logs: $TMPDIR
rc=$?
collect
say "gpu-check: $([ "$rc" = 0 ] && echo PASSED || echo "FAILED ($rc)"); results in $OUT"
finish "$rc"
