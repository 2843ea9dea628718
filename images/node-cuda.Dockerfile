# LlamaNet node, CUDA build (NVIDIA GPUs; all layers offloaded by default: N_GPU_LAYERS=-1).
#   make image-cuda                      # = images/build.sh node-cuda, then images/check-cuda.sh
#   docker run --gpus all -p 8000:8000 -p 8001:8001/udp -v llamanet-models:/models llamanet/node:dev-cuda
# FROM the local Debian base like node.Dockerfile (no NVIDIA registry image): the CUDA toolkit comes
# from NVIDIA's PyPI wheels (scripts/cuda-toolkit.sh), llama-cpp-python is compiled against it with
# GGML_CUDA=ON and GGML_BACKEND_DL=ON (scripts/llama-cpp-cuda-wheel.sh), and the runtime carries only
# cudart and cuBLAS beside libggml-cuda.so. The driver (libcuda.so.1) comes from the host (NVIDIA
# container toolkit, --gpus); without it the CUDA backend does not load, the node logs one line saying
# so and serves on CPU. The compile takes hours on 2 cores (images/README.md, "CUDA").
ARG BASE_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------- web
FROM ${BASE_IMAGE} AS web
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/*
COPY images/ca/ /usr/local/share/ca-certificates/llamanet/
RUN update-ca-certificates >/dev/null
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /src
COPY web/package.json web/package-lock.json web/
COPY scripts/build-web.sh scripts/
RUN mkdir -p node/llamanet/web/static && scripts/build-web.sh

# ------------------------------------------------------------------------------------------ builder
FROM ${BASE_IMAGE} AS builder
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates gcc g++ libc6-dev make cmake ninja-build binutils python3 python3-venv python3-dev \
 && rm -rf /var/lib/apt/lists/*
COPY images/ca/ /usr/local/share/ca-certificates/llamanet/
RUN update-ca-certificates >/dev/null
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    LLAMANET_CACHE=/opt/cache \
    PYTHON=/opt/llamanet/bin/python
RUN python3 -m venv /opt/llamanet

# the CUDA toolkit from PyPI wheels, pinned to one release (not newer than the GPU hosts' drivers)
ARG CUDA_TOOLKIT_VERSION=13.0.2
COPY scripts/cuda-toolkit.sh /src/scripts/
RUN /src/scripts/cuda-toolkit.sh --check

# llama.cpp with CUDA kernels for CUDA_ARCHITECTURES (CMake syntax; default sm_80/86/89/90 + PTX) and
# the CPU image's CPU part, backends as run-time libraries; the one long step, cached by its arguments
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
ARG CUDA_ARCHITECTURES="80-real;86-real;89-real;90"
ARG JOBS=""
COPY scripts/llama-cpp-cuda-wheel.sh /src/scripts/
RUN wheel=$(JOBS="${JOBS:-$(nproc)}" /src/scripts/llama-cpp-cuda-wheel.sh) \
 && /opt/llamanet/bin/pip install -q "$wheel" \
 && lib=$(echo /opt/llamanet/lib/python3*/site-packages/llama_cpp/lib) \
 && cuda=/opt/cache/cuda/${CUDA_TOOLKIT_VERSION}/cuda/lib \
 && strip --strip-unneeded "$lib"/*.so "$lib"/*.so.* \
 && cp -L "$cuda/libcudart.so.13" "$cuda/libcublas.so.13" "$cuda/libcublasLt.so.13" "$lib/" \
 && rm -rf /opt/llamanet/lib/python3*/site-packages/lib /opt/llamanet/lib/python3*/site-packages/include

COPY common /src/common
RUN /opt/llamanet/bin/pip install -q --no-deps /src/common
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c "import tomllib; print('\n'.join(d for d in tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies'] if not d.startswith('llamanet-')))" \
      > /src/requirements.txt \
 && /opt/llamanet/bin/pip install -q -r /src/requirements.txt
COPY README.md /src/README.md
COPY node /src/node
COPY --from=web /src/node/llamanet/web/static/vendor /src/node/llamanet/web/static/vendor
RUN /opt/llamanet/bin/pip install -q --no-deps /src && /opt/llamanet/bin/pip uninstall -q -y setuptools

# ------------------------------------------------------------------------------------------ runtime
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/llamanet llamanet \
 && mkdir -p /models && chown llamanet:llamanet /models
COPY --from=builder /opt/llamanet /opt/llamanet
COPY images/node-entrypoint.sh /usr/local/bin/llamanet-entrypoint
ENV PATH=/opt/llamanet/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    MODELS_DIR=/models \
    MODEL_PATH=smollm2-135m \
    HOST=0.0.0.0 \
    PORT=8000 \
    DHT_PORT=8001 \
    N_GPU_LAYERS=-1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
VOLUME ["/models"]
USER llamanet
WORKDIR /home/llamanet
EXPOSE 8000 8001/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]
ENTRYPOINT ["llamanet-entrypoint"]
CMD ["node"]
