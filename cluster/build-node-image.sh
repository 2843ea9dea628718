#!/usr/bin/env bash
# Build the kind node image llamanet/kind-node:$K8S_VERSION without a registry, doing the steps of
# `kind build node-image` ourselves:
#   1. Kubernetes, etcd, CoreDNS, crictl, kind, local-path-provisioner, pause: built from source
#      (cluster/build-k8s.sh, cluster/build-tools.sh; cached by version in $LLAMANET_CACHE/k8s).
#   2. The images a kubeadm control plane runs (registry.k8s.io/kube-apiserver:..., etcd, coredns, pause,
#      kube-proxy) built locally under the names kubeadm asks for.
#   3. The node: images/kind-node/Dockerfile (Debian + kind's node files + our binaries); the images of
#      step 2 imported into its containerd (no unpack) and the result committed, as kind does.
# Idempotent: the image carries a label with a hash of its inputs; an up-to-date image is kept.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
NODE_IMAGE="${NODE_IMAGE:-llamanet/kind-node:$K8S_VERSION}"

key="$(cat "$CLUSTER_DIR/versions.env" "$CLUSTER_DIR/lib.sh" "$CLUSTER_DIR/build-node-image.sh" \
        "$ROOT/images/kind-node/Dockerfile" $(find "$ROOT/images/kind-node/files" -type f | sort) \
        | sha256sum | cut -c1-16)"
if [[ "$(docker image inspect -f '{{index .Config.Labels "llamanet.build-key"}}' "$NODE_IMAGE" 2>/dev/null)" == "$key" ]]; then
  echo "node image $NODE_IMAGE: up to date ($key)"
  exit 0
fi
total_start=$SECONDS
"$CLUSTER_DIR/build-k8s.sh"
"$CLUSTER_DIR/build-tools.sh"
"$ROOT/images/make-base.sh"

# -- 2. control-plane images -------------------------------------------------------------------------
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"; [[ -n "${builder:-}" ]] && docker rm -f "$builder" >/dev/null 2>&1 || true' EXIT
# static_image TAG FILE ENTRYPOINT: FROM scratch with one static binary at /usr/local/bin (kubeadm's
# static pods call the binaries by name).
static_image() {
  local tag="$1" file="$2" name="$3" d="$ctx/img-$3"
  mkdir -p "$d"; cp "$file" "$d/$name"
  printf 'FROM scratch\nCOPY %s /usr/local/bin/%s\nENV PATH=/usr/local/bin:/usr/bin:/bin\nENTRYPOINT ["/usr/local/bin/%s"]\nLABEL llamanet.built-from-source=%s\n' \
    "$name" "$name" "$name" "$tag" > "$d/Dockerfile"
  docker build -q -t "$tag" "$d" >/dev/null
  echo "    image $tag"
}
echo "==> control-plane images"
images=()
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  static_image "registry.k8s.io/$c:$K8S_VERSION" "$K8S_BIN/$c" "$c"; images+=("registry.k8s.io/$c:$K8S_VERSION")
done
static_image "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" "$TOOLS/etcd-$ETCD_VERSION" etcd
static_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$TOOLS/coredns-$COREDNS_VERSION" coredns
static_image "registry.k8s.io/pause:$PAUSE_VERSION" "$TOOLS/pause-$PAUSE_VERSION" pause
static_image "llamanet.local/local-path-provisioner:$LOCAL_PATH_VERSION" \
  "$TOOLS/local-path-provisioner-$LOCAL_PATH_VERSION" local-path-provisioner
images+=("registry.k8s.io/etcd:$ETCD_IMAGE_TAG" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
         "registry.k8s.io/pause:$PAUSE_VERSION" "llamanet.local/local-path-provisioner:$LOCAL_PATH_VERSION")
# kube-proxy needs iptables/nftables and conntrack: Debian, like the upstream image's distroless base.
mkdir -p "$ctx/img-kube-proxy"; cp "$K8S_BIN/kube-proxy" "$ctx/img-kube-proxy/"
cat > "$ctx/img-kube-proxy/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      iptables nftables conntrack ipset kmod && rm -rf /var/lib/apt/lists/*
COPY kube-proxy /usr/local/bin/kube-proxy
DOCKERFILE
docker build -q -t "registry.k8s.io/kube-proxy:$K8S_VERSION" "$ctx/img-kube-proxy" >/dev/null
echo "    image registry.k8s.io/kube-proxy:$K8S_VERSION"
images+=("registry.k8s.io/kube-proxy:$K8S_VERSION")
docker tag debian:bookworm-slim llamanet.local/local-path-helper:bookworm
images+=("llamanet.local/local-path-helper:bookworm")

# -- 3. the node -------------------------------------------------------------------------------------
echo "==> node base image (images/kind-node/Dockerfile)"
kind_dir="$(module_dir sigs.k8s.io/kind "$KIND_VERSION")"
mkdir -p "$ctx/node/bin" "$ctx/node/kind-files"
cp -r "$kind_dir/images/base/files/." "$ctx/node/kind-files/"
chmod -R u+w "$ctx/node/kind-files"
cp -r "$ROOT/images/kind-node/files" "$ctx/node/llamanet-files"
# kind's units are for its own containerd build in /usr/local/bin; Debian's lives in /usr/bin.
sed -i 's|/usr/local/bin/containerd|/usr/bin/containerd|' "$ctx/node/kind-files/etc/systemd/system/containerd.service"
# restrict_oom_score_adj: lowering a process's oom_score_adj needs CAP_SYS_RESOURCE, which hosts like this
# one withhold from containers (see cluster/runc-wrapper.py); without it every pod sandbox fails to start
# ("can't get final child's PID from pipe"). Clamping to containerd's own value is what rootless kind does.
sed -i -e "s|sandbox_image = .*|sandbox_image = \"registry.k8s.io/pause:$PAUSE_VERSION\"|" \
  -e "s|restrict_oom_score_adj = false|restrict_oom_score_adj = true|" \
  "$ctx/node/kind-files/etc/containerd/config.toml"
grep -q 'restrict_oom_score_adj = true' "$ctx/node/kind-files/etc/containerd/config.toml"
cp "$K8S_BIN/kubelet" "$K8S_BIN/kubeadm" "$K8S_BIN/kubectl" "$TOOLS/crictl-$CRICTL_VERSION" "$ctx/node/bin/"
mv "$ctx/node/bin/crictl-$CRICTL_VERSION" "$ctx/node/bin/crictl"
cp "$ROOT/images/kind-node/Dockerfile" "$ctx/node/"
docker build -t llamanet/kind-node-base:"$K8S_VERSION" "$ctx/node" 2>&1 | sed -u 's/^/    /' | grep -v '^    ---> \|^    Removing' || true
docker image inspect llamanet/kind-node-base:"$K8S_VERSION" >/dev/null

echo "==> importing ${#images[@]} images into the node's containerd"
builder="llamanet-kind-build-$$"
docker run -d --name "$builder" --entrypoint=sleep --security-opt seccomp=unconfined \
  llamanet/kind-node-base:"$K8S_VERSION" infinity >/dev/null
docker exec "$builder" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &
  for i in $(seq 1 30); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.5; done
  cat /tmp/containerd.log; exit 1'
docker save "${images[@]}" | docker exec -i "$builder" ctr --namespace=k8s.io images import \
  --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null
docker exec "$builder" bash -c "ctr --namespace=k8s.io images list -q | grep -v '^sha256:' | sort; \
  echo -n '$K8S_VERSION' > /kind/version; pkill containerd; sleep 1; rm -f /tmp/containerd.log"
docker commit \
  --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
  --change "LABEL llamanet.build-key=$key" \
  "$builder" "$NODE_IMAGE" >/dev/null
echo "node image $NODE_IMAGE built in $(( SECONDS - total_start )) s ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
