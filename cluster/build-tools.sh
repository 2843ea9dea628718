#!/usr/bin/env bash
# Build what a kind node needs besides Kubernetes itself, all from source:
#   etcd (go.etcd.io/etcd/server/v3), CoreDNS (github.com/coredns/coredns), crictl (sigs.k8s.io/cri-tools),
#   kind (sigs.k8s.io/kind) from the Go module proxy, and the pause container from Kubernetes' C source.
# Output: $LLAMANET_CACHE/k8s/tools/<name>-<version> (skipped when already there).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out="$TOOLS"
mkdir -p "$out"

# go_tool NAME VERSION MODULE PACKAGE [LDFLAGS]: build PACKAGE of MODULE@VERSION in a throwaway module.
go_tool() {
  local name="$1" version="$2" module="$3" package="$4" ldflags="${5:-}"
  local dest="$out/$name-$version"
  if [[ -x "$dest" ]]; then echo "$name $version: cached"; return; fi
  command -v go >/dev/null || { echo "$(basename "$0"): Go >= 1.25 (the go command) is needed to build $name from source (README: Quick start)" >&2; exit 1; }
  echo "==> go build $name $version ($module)  $(date +%T)"
  local start=$SECONDS work
  work="$(mktemp -d)"
  printf 'module llamanet.local/%sbuild\n\ngo 1.25.0\n\nrequire %s %s\n' "$name" "$module" "$version" > "$work/go.mod"
  (cd "$work" && GOFLAGS=-mod=mod go mod download "$module@$version" \
     && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $ldflags" -o "$dest.tmp" "$package")
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  echo "    $name: $(( SECONDS - start )) s"
}

go_tool etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3
go_tool coredns "$COREDNS_VERSION" github.com/coredns/coredns github.com/coredns/coredns \
  "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"
go_tool crictl "$CRICTL_VERSION" sigs.k8s.io/cri-tools sigs.k8s.io/cri-tools/cmd/crictl \
  "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
go_tool kind "$KIND_VERSION" sigs.k8s.io/kind sigs.k8s.io/kind
go_tool local-path-provisioner "$LOCAL_PATH_VERSION" github.com/rancher/local-path-provisioner \
  github.com/rancher/local-path-provisioner

pause="$out/pause-$PAUSE_VERSION"
if [[ ! -x "$pause" ]]; then
  echo "==> gcc pause $PAUSE_VERSION (Kubernetes build/pause/linux/pause.c)"
  kdir="$(module_dir k8s.io/kubernetes "$K8S_VERSION")"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-llamanet" -o "$pause.tmp" "$kdir/build/pause/linux/pause.c"
  strip "$pause.tmp"; mv "$pause.tmp" "$pause"
fi
echo "tools in $out: $(ls "$out" | tr '\n' ' ')"
