# Sourced by cluster/*.sh: the versions, where build outputs are cached, and a Go module's source folder.
CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$CLUSTER_DIR/.." && pwd)"
source "$CLUSTER_DIR/versions.env"
K8S_CACHE="${LLAMANET_CACHE:-$HOME/.cache/llamanet}/k8s"
K8S_BIN="$K8S_CACHE/$K8S_VERSION/bin"   # kube-apiserver ... kubectl (build-k8s.sh)
TOOLS="$K8S_CACHE/tools"                # <name>-<version>: etcd, coredns, kind ... (build-tools.sh)

# module_dir MODULE VERSION: fetch MODULE@VERSION from the Go module proxy; print its (read-only) folder.
module_dir() {
  local work dir
  work="$(mktemp -d)"
  printf 'module llamanet.local/fetch\n\ngo 1.25.0\n' > "$work/go.mod"
  dir="$(cd "$work" && go mod download -json "$1@$2" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  rm -rf "$work"
  [[ -n "$dir" ]] || { echo "could not fetch $1@$2 from the Go module proxy" >&2; return 1; }
  echo "$dir"
}
