#!/usr/bin/env bash
# Create the base image the Dockerfiles name, `debian:bookworm-slim`, locally, for machines where no
# registry answers (`docker pull` fails). Built with debootstrap (minbase) from this machine's Debian
# mirror (the apt source serving $SUITE, found by apt-mirror.sh; DEBIAN_MIRROR overrides, and
# DEBIAN_SECURITY_MIRROR the security archive),
# trimmed like the official slim image (no docs, man pages or locales), then `docker import`ed under the
# public name, so the Dockerfiles stay unchanged wherever a registry works.
# Idempotent: nothing happens when the image exists; the rootfs tarball is cached outside the repo in
# $LLAMANET_CACHE/base/ so a fresh engine only needs the import.
set -euo pipefail

IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
SUITE="${SUITE:-bookworm}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MIRROR="${DEBIAN_MIRROR:-}"
CACHE="${LLAMANET_CACHE:-$HOME/.cache/llamanet}/base"
TARBALL="$CACHE/debian-$SUITE-slim-rootfs.tar"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "make-base: $IMAGE exists"
  exit 0
fi
if [ "${TRY_PULL:-1}" = 1 ] && timeout 60 docker pull "$IMAGE" >/dev/null 2>&1; then
  echo "make-base: pulled $IMAGE"
  exit 0
fi

if [ ! -s "$TARBALL" ]; then
  if [ -z "$MIRROR" ] && ! MIRROR="$("$here/apt-mirror.sh" "$SUITE" --debian)"; then
    echo "make-base: no apt source of this machine serves Debian $SUITE; set DEBIAN_MIRROR=URL" >&2
    exit 1
  fi
  MIRROR="${MIRROR%/}"
  SECURITY="${DEBIAN_SECURITY_MIRROR:-}"
  [ -n "$SECURITY" ] || SECURITY="$("$here/apt-mirror.sh" "$SUITE-security" || echo "${MIRROR%/debian}/debian-security")"
  command -v debootstrap >/dev/null || {
    echo "make-base: installing debootstrap (apt)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq debootstrap >/dev/null
  }
  mkdir -p "$CACHE"
  rootfs="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  trap '$SUDO rm -rf "$rootfs"' EXIT
  echo "make-base: debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"
  # debootstrap's I: lines are the progress
  $SUDO debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" 2>&1 | grep --line-buffered -E '^(I|W|E):' | grep --line-buffered -vE '^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) [a-z0-9]' \
    | sed -u 's/^/  /'
  echo "make-base: trimming like debian:*-slim"
  $SUDO tee "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" >/dev/null <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
CFG
  $SUDO tee "$rootfs/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  $SUDO tee "$rootfs/etc/apt/sources.list" >/dev/null <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
SRC
  $SUDO find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  $SUDO find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  $SUDO rm -rf "$rootfs"/usr/share/{man,info,locale,groff,lintian}/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/* \
    "$rootfs"/tmp/* "$rootfs"/root/.bash_history
  echo "make-base: packing $TARBALL"
  $SUDO tar --numeric-owner -C "$rootfs" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
fi

echo "make-base: importing $TARBALL as $IMAGE"
docker import --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "$TARBALL" "$IMAGE" >/dev/null
docker image ls "$IMAGE"
