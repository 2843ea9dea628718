#!/usr/bin/env bash
# Local Kubernetes clusters with kind, on the node image built from source here (no registry needed).
#   cluster/kind.sh up [NAME]      build what is missing (cached), create cluster NAME (default llamanet),
#                                   write its kubeconfig to $KUBECONFIG_DIR/NAME.kubeconfig, wait for Ready
#   cluster/kind.sh down [NAME]    delete it
#   cluster/kind.sh load NAME IMAGE...   load locally built Docker images into it (never pulled)
#   cluster/kind.sh kubeconfig [NAME]    print the kubeconfig path
# NODE_IMAGE=kindest/node:v1.35.x uses a public kind image instead (machines with a registry).
# KIND_EXPERIMENTAL_DOCKER_NETWORK=NET puts the cluster's node on Docker network NET (kind's own variable;
# the e2e suite's sites, e2e/sites.py), else on kind's network `kind`; a cluster left on another network
# is recreated.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
KUBECONFIG_DIR="${KUBECONFIG_DIR:-$ROOT/artifacts/clusters}"
KIND="${KIND:-$TOOLS/kind-$KIND_VERSION}"
NODE_IMAGE="${NODE_IMAGE:-llamanet/kind-node:$K8S_VERSION}"
cmd="${1:-up}"; name="${2:-llamanet}"
kubeconfig="$KUBECONFIG_DIR/$name.kubeconfig"

ensure_built() {
  "$ROOT/scripts/docker-engine.sh"
  if [[ "$NODE_IMAGE" == llamanet/kind-node:* ]]; then
    "$CLUSTER_DIR/build-node-image.sh"
  elif ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
    docker pull "$NODE_IMAGE"
  fi
  [[ -x "$KIND" ]] || "$CLUSTER_DIR/build-tools.sh"
}

case "$cmd" in
  up)
    ensure_built
    mkdir -p "$KUBECONFIG_DIR"
    kubectl="$K8S_BIN/kubectl"; [[ -x "$kubectl" ]] || kubectl=kubectl
    if "$KIND" get clusters 2>/dev/null | grep -qx "$name"; then
      # a cluster left from an earlier run is reused only if its node runs and its API answers
      # (after a reboot or an engine restart the node container is stopped: recreate it)
      network="${KIND_EXPERIMENTAL_DOCKER_NETWORK:-kind}"
      if [[ "$(docker inspect -f '{{.State.Running}}' "$name-control-plane" 2>/dev/null)" == true ]] \
         && docker inspect -f '{{json .NetworkSettings.Networks}}' "$name-control-plane" | grep -q "\"$network\"" \
         && "$KIND" export kubeconfig --name "$name" --kubeconfig "$kubeconfig" >/dev/null 2>&1 \
         && "$kubectl" --kubeconfig "$kubeconfig" get --raw /readyz --request-timeout=10s >/dev/null 2>&1; then
        echo "cluster $name exists and answers"
      else
        echo "cluster $name exists but does not answer: recreating it"
        "$KIND" delete cluster --name "$name"
      fi
    fi
    if ! "$KIND" get clusters 2>/dev/null | grep -qx "$name"; then
      start=$SECONDS
      "$KIND" create cluster --name "$name" --image "$NODE_IMAGE" --config "$CLUSTER_DIR/kind-config.yaml" \
        --kubeconfig "$kubeconfig" --wait 5m
      echo "cluster $name created in $(( SECONDS - start )) s"
    fi
    # usable means the system pods run too: CoreDNS, kube-proxy, the storage provisioner
    # (rollout status waits for workloads whose pods may not exist yet; `wait pods` would not)
    for workload in kube-system/deployment/coredns kube-system/daemonset/kube-proxy \
                    local-path-storage/deployment/local-path-provisioner; do
      "$kubectl" --kubeconfig "$kubeconfig" rollout status -n "${workload%%/*}" "${workload#*/}" \
        --timeout=5m >/dev/null
    done
    echo "KUBECONFIG=$kubeconfig"
    ;;
  down)
    "$KIND" delete cluster --name "$name"
    rm -f "$kubeconfig"
    ;;
  load)
    shift 2
    for image in "$@"; do
      "$KIND" load docker-image --name "$name" "$image"
    done
    ;;
  kubeconfig) echo "$kubeconfig" ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
