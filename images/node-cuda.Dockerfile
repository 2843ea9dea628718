# LlamaNet node, CUDA build (NVIDIA GPUs; all layers offloaded by default: N_GPU_LAYERS=-1).
#   docker build -f images/node-cuda.Dockerfile -t llamanet/node:dev-cuda .
#   docker run --gpus all -p 8000:8000 -p 8001:8001/udp -v llamanet-models:/models llamanet/node:dev-cuda
# NOT built or tested on this project's build machines: no registry serves the nvidia/cuda base images
# there and there is no GPU (images/README.md). Same layout as node.Dockerfile otherwise.
ARG CUDA_VERSION=12.6.3
ARG UBUNTU=ubuntu24.04
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
FROM nvidia/cuda:${CUDA_VERSION}-devel-${UBUNTU} AS builder
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates gcc g++ make cmake ninja-build binutils python3 python3-venv python3-dev \
 && rm -rf /var/lib/apt/lists/*
COPY images/ca/ /usr/local/share/ca-certificates/llamanet/
RUN update-ca-certificates >/dev/null
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/llamanet

# CUDA kernels for Turing..Hopper; CPU part for any x86-64 with AVX2, never AMX; no llava.
# The driver library is only a stub at build time (the runtime gets the real one from the host).
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
ARG CUDA_ARCHITECTURES="75;80;86;89;90"
ARG LLAMA_CPP_CMAKE_ARGS="-DGGML_CUDA=on -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF"
RUN ln -s /usr/local/cuda/lib64/stubs/libcuda.so /usr/local/cuda/lib64/stubs/libcuda.so.1 \
 && LIBRARY_PATH=/usr/local/cuda/lib64/stubs LD_LIBRARY_PATH=/usr/local/cuda/lib64/stubs \
    CMAKE_ARGS="${LLAMA_CPP_CMAKE_ARGS} -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES}" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    /opt/llamanet/bin/pip install -q "llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}"

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
FROM nvidia/cuda:${CUDA_VERSION}-runtime-${UBUNTU}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/llamanet llamanet \
 && mkdir -p /models && chown llamanet:llamanet /models
COPY --from=builder /opt/llamanet /opt/llamanet
COPY images/node-entrypoint.sh /usr/local/bin/llamanet-entrypoint
ENV PATH=/opt/llamanet/bin:/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
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
