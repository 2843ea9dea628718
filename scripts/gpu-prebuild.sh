#!/usr/bin/env bash
# The GPU check's CUDA build made here, on a machine without a GPU, into the bundle: for a GPU host whose
# minutes are too few to compile llama.cpp there (about 5 minutes on 16 cores; 1 hour on 2 here).
#
#   scripts/gpu-prebuild.sh          # after scripts/gpu-bundle.sh: .gpu-bundle/prebuilt-<key>.tar.xz
#
# It runs scripts/gpu-check.sh's own build (same sources, same flags, same key) with the CUDA toolkit from
# PyPI wheels (scripts/cuda-toolkit.sh, the release the GPU hosts' drivers run: 13.0) for
# CUDA_ARCHITECTURES (default 90-real: H100/H200), and packs the libraries and llama-server. On the host,
# gpu-check.sh unpacks it where its build would have been (the key matches when the host's nvcc is the same
# release and its GPU the same architecture; else it builds there) and finds the CUDA runtime libraries in
# the host's toolkit. The packed build is about 25 MiB (xz), inside the 64 MiB upload with the bundle.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="${GPU_BUNDLE:-$root/.gpu-bundle}"
[ -f "$BUNDLE/MANIFEST" ] || { echo "gpu-prebuild.sh: no bundle at $BUNDLE (scripts/gpu-bundle.sh)" >&2; exit 1; }
cuda_home=$(PYTHON="${PYTHON:-$root/.venv/bin/python}" "$root/scripts/cuda-toolkit.sh")
export CUDAToolkit_ROOT="$cuda_home" CUDA_HOME="$cuda_home" NVCC="$cuda_home/bin/nvcc"
export CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90-real}" GPU_CHECK_PREBUILD=1
export OUT="${OUT:-$root/artifacts/gpu-prebuild}"
exec bash "$root/scripts/gpu-check.sh"
