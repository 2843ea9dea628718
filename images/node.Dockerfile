# LlamaNet node, CPU build. Build from the repo root:
#   docker build -f images/node.Dockerfile -t llamanet/node:dev .
# Stages: web (UI vendor files, npm from Debian) -> builder (llama-cpp-python compiled once, venv) ->
# runtime (debian:bookworm-slim + Debian's python3 + the venv; non-root; no compiler, no model).
# Works with the classic builder and BuildKit; extra CAs for a TLS-intercepting proxy: images/ca/*.crt.
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
    PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/llamanet

# llama.cpp for any x86-64 with AVX2 (not -march=native; AMX off: its kernels crash in VMs); no llava
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
ARG LLAMA_CPP_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF"
RUN CMAKE_ARGS="${LLAMA_CPP_CMAKE_ARGS}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    /opt/llamanet/bin/pip install -q "llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}" \
 && strip --strip-unneeded /opt/llamanet/lib/python3.11/site-packages/llama_cpp/lib/*.so

# the package's other dependencies, from pyproject.toml (a layer that only changes with it)
COPY common /src/common
RUN /opt/llamanet/bin/pip install -q --no-deps /src/common
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c "import tomllib; print('\n'.join(d for d in tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies'] if not d.startswith('llamanet-')))" \
      > /src/requirements.txt \
 && /opt/llamanet/bin/pip install -q -r /src/requirements.txt

COPY README.md /src/README.md
COPY node /src/node
COPY --from=web /src/node/llamanet/web/static/vendor /src/node/llamanet/web/static/vendor
# llama.cpp's cmake install also leaves unstripped copies of its libraries in site-packages/lib (unused)
RUN /opt/llamanet/bin/pip install -q --no-deps /src \
 && /opt/llamanet/bin/pip uninstall -q -y setuptools \
 && rm -rf /opt/llamanet/lib/python3.11/site-packages/lib /opt/llamanet/lib/python3.11/site-packages/include

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
    N_GPU_LAYERS=0
VOLUME ["/models"]
USER llamanet
WORKDIR /home/llamanet
EXPOSE 8000 8001/udp
# /health answers 200 once the model is loaded (503 while loading); no curl in the image
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]
ENTRYPOINT ["llamanet-entrypoint"]
CMD ["node"]
