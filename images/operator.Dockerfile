# LlamaNet operator. Build from the repo root:
#   docker build -f images/operator.Dockerfile -t llamanet/operator:dev .
# Two distributions, each from its own pyproject.toml: llamanet-common (common/) and llamanet-operator
# (operator/); neither the node nor llama-cpp-python. No compiler in either stage.
# Extra CAs for a TLS-intercepting proxy: images/ca/*.crt (builder only).
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS builder
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY images/ca/ /usr/local/share/ca-certificates/llamanet/
RUN update-ca-certificates >/dev/null
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/llamanet
# the third-party dependencies first, read from both pyproject files (a layer that only changes with them)
COPY common/pyproject.toml /src/deps/common.toml
COPY operator/pyproject.toml /src/deps/operator.toml
RUN python3 -c "import sys, tomllib; print('\n'.join(d for f in sys.argv[1:] for d in tomllib.load(open(f, 'rb'))['project']['dependencies'] if not d.startswith('llamanet-')))" \
      /src/deps/common.toml /src/deps/operator.toml > /src/deps/requirements.txt \
 && /opt/llamanet/bin/pip install -q -r /src/deps/requirements.txt
COPY common /src/common
COPY operator /src/operator
# then the two packages, with pip's normal dependency resolution (satisfied by the layer above);
# kubernetes >= 36 also ships an asyncio copy of its client (kubernetes/aio, ~68 MB); the operator uses
# the synchronous client only, so the copy is dropped to keep the image small
RUN /opt/llamanet/bin/pip install -q /src/common /src/operator \
 && /opt/llamanet/bin/python -c "import llamanet_operator.handlers" \
 && /opt/llamanet/bin/pip uninstall -q -y setuptools pip \
 && rm -rf /opt/llamanet/lib/python3*/site-packages/kubernetes/aio

FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/llamanet llamanet
COPY --from=builder /opt/llamanet /opt/llamanet
ENV PATH=/opt/llamanet/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1
USER llamanet
WORKDIR /home/llamanet
ENTRYPOINT ["llamanet-operator"]
# the chart passes its own command line (scope, liveness); this default watches every namespace
CMD ["--all-namespaces"]
