#!/usr/bin/env bash
# Builds (once) and prints the path of a CUDA llama-cpp-python wheel, with the toolkit from PyPI wheels
# (scripts/cuda-toolkit.sh; no NVIDIA registry image, no apt).
#
#   scripts/llama-cpp-cuda-wheel.sh                       # sm_80, sm_86, sm_89, sm_90 + compute_90 PTX
#   CUDA_ARCHITECTURES="90" scripts/llama-cpp-cuda-wheel.sh   # one GPU generation: a much shorter build
#
# GGML_CUDA=ON with GGML_BACKEND_DL=ON: the CPU and CUDA backends are libraries loaded at run time
# (llamanet.engine.backends loads them from llama_cpp/lib), so the wheel also serves on CPU where no
# NVIDIA driver is (libggml-cuda.so then does not load: libcuda.so.1 is missing). The CPU part is the
# CPU image's: any x86-64 with AVX2, never AMX. The driver is linked against the toolkit's stub.
#
# CUDA_ARCHITECTURES is CMake's CUDA_ARCHITECTURES list: "80-real" is SASS only, a bare "90" is SASS and
# PTX (the PTX JIT-compiles on newer GPUs, e.g. Blackwell, with a driver at least as new as the toolkit).
# Cached under $LLAMANET_CACHE/wheels/cuda-<key>, keyed by version, flags, architectures, toolkit and
# Python version. NOT run on the project's 2-core build machines: four architectures take hours there
# (images/README.md, "CUDA"). JOBS (default: all cores) bounds the parallel compile jobs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${LLAMANET_CACHE:-$HOME/.cache/llamanet}"
PYTHON="${PYTHON:-python3}"
TOOLKIT="${CUDA_TOOLKIT_VERSION:-13.0.2}"
ARCHS="${CUDA_ARCHITECTURES:-80-real;86-real;89-real;90}"
FLAGS="${LLAMA_CPP_CUDA_CMAKE_ARGS:--DGGML_CUDA=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF}"
JOBS="${JOBS:-$(nproc)}"

case " $FLAGS " in *" -DGGML_CUDA=ON "*) ;; *) echo "llama-cpp-cuda-wheel.sh: the flags must hold -DGGML_CUDA=ON" >&2; exit 2 ;; esac
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
key=$(printf '%s|%s|%s|%s|%s' "$VERSION" "$FLAGS" "$ARCHS" "$TOOLKIT" "$pyver" | sha256sum | cut -c1-16)
dir="$CACHE/wheels/cuda-$key"
wheel=$(ls "$dir"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  cuda_home=$(CUDA_TOOLKIT_VERSION="$TOOLKIT" LLAMANET_CACHE="$CACHE" PYTHON="$PYTHON" "$root/scripts/cuda-toolkit.sh")
  mkdir -p "$dir"
  log="$dir/build.log"
  cmake_args="$FLAGS -DCMAKE_CUDA_ARCHITECTURES=$ARCHS -DCMAKE_CUDA_COMPILER=$cuda_home/bin/nvcc -DCUDAToolkit_ROOT=$cuda_home"
  {
    echo ">> building llama-cpp-python $VERSION with CUDA $TOOLKIT for $ARCHS (Python $pyver, $JOBS jobs)"
    echo ">> cmake args: $cmake_args"
    echo ">> log: $log"
  } >&2
  start=$(date +%s)
  rm -rf "$dir.tmp"
  ( CUDA_HOME="$cuda_home" CUDA_PATH="$cuda_home" CUDACXX="$cuda_home/bin/nvcc" PATH="$cuda_home/bin:$PATH" \
      LIBRARY_PATH="$cuda_home/lib/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}" \
      CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" \
      "$PYTHON" -m pip wheel --no-deps --no-cache-dir -v "llama-cpp-python==$VERSION" -w "$dir.tmp" >"$log" 2>&1 ) &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do  # progress: the compiler's [n/m] steps as they appear
    step=$(grep -o '\[[0-9]*/[0-9]*\]' "$log" 2>/dev/null | tail -n1 || true)
    printf '\r>> compiling llama.cpp %s, %ss   ' "${step:-(configuring)}" "$(($(date +%s) - start))" >&2
    sleep 10
  done
  if ! wait "$pid"; then
    echo; echo "llama-cpp-python CUDA build failed; last lines of $log:" >&2; tail -n 40 "$log" >&2; exit 1
  fi
  echo >&2
  # the wheel must carry the CUDA backend as a library of its own, linked to cudart and cuBLAS
  "$PYTHON" - "$dir.tmp"/*.whl <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
libs = [n for n in names if n.startswith("llama_cpp/lib/libggml-")]
for want in ("libggml-cuda.so", "libggml-cpu.so"):
    if not any(n.endswith("/" + want) for n in libs):
        sys.exit(f"llama-cpp-cuda-wheel.sh: {want} is not in the wheel (GGML_BACKEND_DL?): {libs}")
EOF
  mv "$dir.tmp"/*.whl "$dir"/ && rmdir "$dir.tmp"
  wheel=$(ls "$dir"/llama_cpp_python-"$VERSION"-*.whl | head -n1)
  echo ">> built $wheel in $(($(date +%s) - start))s ($(du -h "$wheel" | cut -f1))" >&2
fi
echo "$wheel"
