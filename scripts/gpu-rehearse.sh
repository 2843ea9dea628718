#!/usr/bin/env bash
# The GPU check rehearsed here, without a GPU (images/README.md, "GPU check"): proves the bundle is
# complete and scripts/gpu-check.sh runs end to end, as the GPU host would run it.
#
#   scripts/gpu-rehearse.sh        # make gpu-rehearse: the llama.cpp build (~6 min on 2 idle cores), then ~4 min
#
# 1. a bundle for this machine's python3 (GPU_PYTHON_VERSION=<its version> scripts/gpu-bundle.sh);
# 2. a copy of what the device tool uploads: the files git tracks or does not ignore, plus the bundle;
# 3. a fresh venv from python3 holding only what the GPU hosts have of ours (scripts/gpu-host-packages.txt,
#    installed from the index here: the hosts have their own);
# 4. GPU_CHECK_CPU=1 scripts/gpu-check.sh in that copy with PIP_NO_INDEX=1 and no network for pip,
#    $OUT in artifacts/gpu-rehearsal/. The llama.cpp build is cached in $LLAMANET_CACHE/gpu-check.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LLAMANET_CACHE:-$HOME/.cache/llamanet}"
HOST_PYTHON="${HOST_PYTHON:-python3}"
PYTHON="${PYTHON:-$root/.venv/bin/python}"   # the dev venv: pins the wheels' versions
[ -x "$PYTHON" ] || PYTHON=python3
pyver=$("$HOST_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
work="$CACHE/gpu-check"
copy="$work/tree"
out="$root/artifacts/gpu-rehearsal"
t0=$(date +%s)

bundle="$work/bundle-$pyver"
GPU_PYTHON_VERSION="$pyver" PYTHON="$PYTHON" "$root/scripts/gpu-bundle.sh" "$bundle" >/dev/null

rm -rf "$copy" && mkdir -p "$copy"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy" 2>/dev/null) || true
cp -r "$bundle" "$copy/.gpu-bundle"
echo ">> upload copy: $(du -sh "$copy" | cut -f1) in $copy" >&2

venv="$work/venv-$pyver"
if [ ! -x "$venv/bin/python" ]; then
  "$HOST_PYTHON" -m venv "$venv"
  pins=$("$PYTHON" -m pip freeze 2>/dev/null || true)
  pkgs=()
  while read -r name; do
    [ -n "$name" ] && [ "${name#\#}" = "$name" ] || continue
    pin=$(grep -i "^$name==" <<<"$pins" || true)
    pkgs+=("${pin:-$name}")
  done <"$root/scripts/gpu-host-packages.txt"
  "$venv/bin/pip" install -q "${pkgs[@]}"
fi

rm -rf "$out" && mkdir -p "$out"
rc=0
(cd "$copy" && env -u PIP_FIND_LINKS PIP_NO_INDEX=1 PIP_INDEX_URL=http://127.0.0.1:9/ OUT="$out" \
  GPU_CHECK_CPU=1 GPU_CHECK_WORK="$work/run" PYTHON="$venv/bin/python" \
  GPU_CHECK_BUDGET="${GPU_CHECK_BUDGET:-1800}" bash scripts/gpu-check.sh) || rc=$?
echo ">> rehearsal: exit $rc in $(($(date +%s) - t0)) s; $out: $(ls "$out" | paste -sd' ')" >&2
exit "$rc"
