# LlamaNet operator. Build from the repo root:
#   docker build -f images/operator.Dockerfile -t llamanet/operator:dev .
# The `llamanet` package without llama-cpp-python (pip install --no-deps) plus the operator's own
# dependencies (images/operator-requirements.txt, bounded by pyproject.toml). No compiler in either stage.
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
COPY pyproject.toml images/operator-requirements.txt /src/
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /src/constraints.txt \
 && /opt/llamanet/bin/pip install -q -r /src/operator-requirements.txt -c /src/constraints.txt
COPY common /src/common
COPY README.md /src/README.md
COPY node /src/node
COPY operator /src/operator
# kubernetes >= 36 also ships an asyncio copy of its client (kubernetes/aio, ~68 MB); the operator uses
# the synchronous client only, so the copy is dropped to keep the image small
RUN /opt/llamanet/bin/pip install -q --no-deps /src/common /src \
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
ENTRYPOINT ["llamanet"]
# the chart passes its own arguments (scope, liveness); this default watches every namespace
CMD ["operator", "--all-namespaces"]
