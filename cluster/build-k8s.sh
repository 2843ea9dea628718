#!/usr/bin/env bash
# Build Kubernetes server binaries (kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy,
# kubelet, kubeadm, kubectl) from the Go module proxy: k8s.io/kubernetes at $K8S_VERSION, its staging
# modules pinned by `replace` to the matching v0.x releases, version stamped by ldflags.
# Output: $LLAMANET_CACHE/k8s/$K8S_VERSION/bin (skipped when already there).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out="$K8S_BIN"
targets=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl)
missing=()
for t in "${targets[@]}"; do [[ -x "$out/$t" ]] || missing+=("$t"); done
if (( ${#missing[@]} == 0 )); then echo "kubernetes $K8S_VERSION: cached in $out"; exit 0; fi
command -v go >/dev/null || { echo "$(basename "$0"): Go >= 1.25 (the go command) is needed to build Kubernetes from source (README: Quick start)" >&2; exit 1; }

src="$K8S_CACHE/$K8S_VERSION/src"
mkdir -p "$src" "$out"
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
staging_version="v0.${K8S_VERSION#v1.}"
echo "==> kubernetes $K8S_VERSION: fetching module from the Go proxy"
cd "$src"
cat > go.mod <<MOD
module llamanet.local/k8sbuild

go 1.25.0

require k8s.io/kubernetes $K8S_VERSION
MOD
kdir="$(module_dir k8s.io/kubernetes "$K8S_VERSION")"
# Every `k8s.io/x => ./staging/src/k8s.io/x` of kubernetes' go.mod becomes `k8s.io/x => k8s.io/x v0.N.P`.
{
  echo "replace ("
  sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$kdir/go.mod"
  echo ")"
} >> go.mod
# the release's commit (when the proxy reports it) and date, as a release build would stamp them
meta="$(GOFLAGS=-mod=mod go list -m -json k8s.io/kubernetes@"$K8S_VERSION")"
commit="$(sed -n 's/.*"Hash": "\(.*\)".*/\1/p' <<<"$meta" | head -1)"
released="$(sed -n 's/.*"Time": "\(.*\)".*/\1/p' <<<"$meta" | head -1)"
echo "==> resolving dependencies (go mod tidy)"
printf 'package k8sbuild\n\nimport _ "k8s.io/kubernetes/pkg/kubelet"\n' > deps.go
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || GOFLAGS=-mod=mod go mod download all
build_date="${released:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}"
ld="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ld+=" -X $pkg.gitCommit=${commit:-unknown} -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
i=0
for t in "${missing[@]}"; do
  i=$((i + 1))
  echo "==> [$i/${#missing[@]}] go build $t ($K8S_VERSION)  $(date +%T)"
  start=$SECONDS
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$out/$t.tmp" "k8s.io/kubernetes/cmd/$t"
  mv "$out/$t.tmp" "$out/$t"
  echo "    $t: $(( SECONDS - start )) s, $("$out/$t" --version 2>/dev/null || "$out/$t" version -o short 2>/dev/null || "$out/$t" version --client 2>/dev/null | head -1)"
done
echo "kubernetes $K8S_VERSION: built in $out"
