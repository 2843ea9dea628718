#!/usr/bin/env bash
# Installs NVIDIA's CUDA toolkit from PyPI wheels (no NVIDIA registry, no apt) and prints its CUDA_HOME.
#
#   CUDA_HOME=$(scripts/cuda-toolkit.sh)          # once: 505 MB of wheels, 840 MB unpacked, ~15 s here
#   scripts/cuda-toolkit.sh --check               # also compiles and links a small .cu file (no GPU needed)
#
# What it installs: `cuda-toolkit[nvcc,cudart,cublas,cccl,nvvm,crt]==$CUDA_TOOLKIT_VERSION`, NVIDIA's
# meta-package, which pins each component wheel exactly (13.0.2: nvidia-cuda-nvcc 13.0.88,
# nvidia-cuda-runtime 13.0.96, nvidia-cublas 13.1.0.3, nvidia-cuda-cccl 13.0.85, nvidia-nvvm 13.0.88,
# nvidia-cuda-crt 13.0.88). One CUDA release, pinned: PTX from a newer nvcc does not JIT on an older
# driver, so the toolkit must not be newer than the GPU hosts' drivers (images/README.md, "CUDA").
#
# The wheels unpack to nvidia/cu13/{bin,include,lib,nvvm}; this lays that out as a CUDA_HOME that nvcc
# and CMake's FindCUDAToolkit use: lib64 -> lib, the unversioned .so links (libcudart.so, libcublas.so,
# libcublasLt.so, libnvvm.so) the linker and CMake look for, and lib64/stubs/libcuda.so, a stub of the
# driver library (every cu* symbol of cuda.h, soname libcuda.so.1) to link against; the real one comes
# from the GPU host's driver at run time. Cached in $LLAMANET_CACHE/cuda/<version>; reruns print the path.
set -euo pipefail
VERSION="${CUDA_TOOLKIT_VERSION:-13.0.2}"
CACHE="${LLAMANET_CACHE:-$HOME/.cache/llamanet}"
PYTHON="${PYTHON:-python3}"
CC="${CC:-gcc}"
dest="$CACHE/cuda/$VERSION"
home="$dest/cuda"
check=0
[ "${1:-}" = "--check" ] && check=1

if [ ! -x "$home/bin/nvcc" ] || [ ! -f "$dest/.complete" ]; then
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  echo ">> installing CUDA toolkit $VERSION from PyPI wheels into ${dest#"$HOME"/}" >&2
  PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q --disable-pip-version-check --no-cache-dir --target "$dest.tmp/site" \
    "cuda-toolkit[nvcc,cudart,cublas,cccl,nvvm,crt]==$VERSION" >&2
  major="${VERSION%%.*}"
  mv "$dest.tmp/site/nvidia/cu$major" "$dest.tmp/cuda"
  ls "$dest.tmp/site" | grep -E '\.dist-info$' | sed 's/\.dist-info$//' >"$dest.tmp/cuda/wheels.txt"
  rm -rf "$dest.tmp/site"
  t="$dest.tmp/cuda"
  ln -s lib "$t/lib64"
  # unversioned links: libcudart.so -> libcudart.so.13 (what -lcudart and find_library look for)
  for so in "$t"/lib/lib*.so.*; do
    base="${so##*/}"
    [ -e "$t/lib/${base%%.so.*}.so" ] || ln -s "$base" "$t/lib/${base%%.so.*}.so"
  done
  # driver stub: every cu* function cuda.h declares (after its _v2/_ptds macros), soname libcuda.so.1
  mkdir -p "$t/lib/stubs"
  { echo '#include <cuda.h>' | "$CC" -E -P -I"$t/include" -x c -; cat "$t/include/cuda.h"; } \
    | grep -oE '\bcu[A-Za-z0-9_]+[[:space:]]*\(' | tr -d '( \t' | sort -u \
    | awk '{printf "void %s(void) {}\n", $1}' >"$t/lib/stubs/libcuda-stub.c"
  "$CC" -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$t/lib/stubs/libcuda.so" "$t/lib/stubs/libcuda-stub.c"
  rm "$t/lib/stubs/libcuda-stub.c"
  "$t/bin/nvcc" --version | grep -q "release ${VERSION%.*}" \
    || { echo "cuda-toolkit.sh: nvcc is not CUDA ${VERSION%.*}:" >&2; "$t/bin/nvcc" --version >&2; exit 1; }
  rm -rf "$dest" && mv "$dest.tmp" "$dest" && touch "$dest/.complete"
  echo ">> CUDA_HOME=$home ($(du -sh "$home" | cut -f1))" >&2
fi

if [ "$check" = 1 ]; then
  # compile device code for one real architecture plus PTX, link against cudart, cuBLAS and the driver
  # stub, then run it: without a GPU (or driver) cudaGetDeviceCount reports an error, which it prints
  work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
  cat >"$work/check.cu" <<'EOF'
#include <cstdio>
#include <cuda_runtime.h>
#include <cublas_v2.h>
__global__ void axpy(int n, float a, const float *x, float *y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] += a * x[i];
}
int main() {
  int n = 0, driver = 0;
  cudaDriverGetVersion(&driver);
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaSuccess && n > 0) {
    float *x, *y;
    cudaMalloc(&x, 256 * sizeof(float)); cudaMalloc(&y, 256 * sizeof(float));
    axpy<<<1, 256>>>(256, 2.0f, x, y);
    cublasHandle_t h; cublasCreate(&h); cublasDestroy(h);
    e = cudaDeviceSynchronize();
  }
  printf("cuda check: %d device(s), driver %d: %s\n", n, driver, cudaGetErrorString(e));
  return 0;
}
EOF
  # and the driver API (what ggml-cuda's virtual memory pool uses), linked against the stub only
  cat >"$work/driver.cu" <<'EOF'
#include <cuda.h>
int main() { CUdevice d; cuInit(0); cuDeviceGet(&d, 0); size_t g = 0; return (int) cuMemGetAllocationGranularity(&g, nullptr, CU_MEM_ALLOC_GRANULARITY_MINIMUM); }
EOF
  "$home/bin/nvcc" -O2 -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=compute_90 \
    -cudart shared -o "$work/check" "$work/check.cu" -lcublas
  "$home/bin/nvcc" -o "$work/driver" "$work/driver.cu" -lcuda
  objdump -h "$work/check" | grep -q '\.nv_fatbin' || { echo "cuda-toolkit.sh: no fatbin in the binary" >&2; exit 1; }
  readelf -d "$work/driver" | grep -q 'libcuda\.so\.1' || { echo "cuda-toolkit.sh: not linked to libcuda.so.1" >&2; exit 1; }
  # CMake as llama.cpp's ggml-cuda uses it: the CUDA language and FindCUDAToolkit's imported targets
  if command -v cmake >/dev/null; then
    cat >"$work/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(check LANGUAGES C CXX CUDA)
find_package(CUDAToolkit REQUIRED)
add_executable(check-cmake check.cu)
target_link_libraries(check-cmake PRIVATE CUDA::cudart CUDA::cublas CUDA::cublasLt CUDA::cuda_driver)
EOF
    cmake -S "$work" -B "$work/build" -DCMAKE_CUDA_COMPILER="$home/bin/nvcc" -DCUDAToolkit_ROOT="$home" \
      -DCMAKE_CUDA_ARCHITECTURES="80-real;90-virtual" >"$work/cmake.log" 2>&1 \
      && cmake --build "$work/build" >>"$work/cmake.log" 2>&1 \
      || { echo "cuda-toolkit.sh: the CMake check failed:" >&2; tail -n 30 "$work/cmake.log" >&2; exit 1; }
    echo ">> CMake $(cmake --version | head -n1 | grep -oE '[0-9.]+$'): CUDA language and FindCUDAToolkit $(grep -oE 'Found CUDAToolkit: .*' "$work/cmake.log" | head -n1)" >&2
  fi
  LD_LIBRARY_PATH="$home/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/check" >&2
  echo ">> nvcc $("$home/bin/nvcc" --version | grep -oE 'V[0-9]+\.[0-9.]+'): compiled and linked sm_80 + compute_90 PTX" \
    "(cudart, cuBLAS; the driver API against the stub), and the program ran" >&2
fi
echo "$home"
