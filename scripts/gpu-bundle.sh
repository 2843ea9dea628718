#!/usr/bin/env bash
# Builds the bundle a GPU check host needs (scripts/gpu-check.sh): that host has no network, takes an
# upload of 64 MiB (the working tree and up to 8 carried ignored paths) and has its own Python.
#
#   scripts/gpu-bundle.sh                     # .gpu-bundle/ for Python 3.12 (the GPU hosts' python3)
#   GPU_PYTHON_VERSION=3.11 scripts/gpu-bundle.sh .gpu-bundle-cpu   # for the CPU rehearsal here
#
# What goes in (printed with the total at the end):
#   llama.cpp.tar.gz   the llama.cpp tree vendored in the llama-cpp-python $VERSION sdist (what our wheels
#                      and bench/build_llama_server.sh compile), pruned of models, docs, tests, examples
#                      and the GPU backends other than CUDA; and that sdist's llama_cpp Python package
#                      (pure Python; gpu-check.sh points its lib/ at the libraries it builds)
#   wheels/            the node's dependencies (and the openai SDK) as wheels for that Python, at the
#                      versions of this checkout's venv, less the large ones every GPU host has
#                      (scripts/gpu-host-packages.txt: numpy, uvloop)
#   tokenizer.gguf     SmolLM2-135M's tokenizer metadata (tests/randmodel.py header): the check generates
#                      random-weight models around it there (a real model does not fit in the upload)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
PYVER="${GPU_PYTHON_VERSION:-3.12}"
CACHE="${LLAMANET_CACHE:-$HOME/.cache/llamanet}"
PYTHON="${PYTHON:-$root/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
MODELS="${MODELS_DIR:-$CACHE/models}"
out="${1:-$root/.gpu-bundle}"
limit_mib=64

sdist="$CACHE/sdist/llama_cpp_python-$VERSION.tar.gz"
if [ ! -f "$sdist" ]; then
  echo ">> fetching the llama-cpp-python $VERSION sdist" >&2
  "$PYTHON" -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$CACHE/sdist" >&2
fi
rm -rf "$out.tmp" && mkdir -p "$out.tmp/src"
tar -xzf "$sdist" -C "$out.tmp/src" --strip-components=1

# the sources: what a CMake build of libllama, the CPU and CUDA backends and llama-server reads
l="$out.tmp/src/vendor/llama.cpp"
rm -rf "$l"/{models,docs,media,examples,benches,tests,gguf-py,conversion,pocs,ci,requirements,skills,.github}
rm -rf "$l"/tools/server/{tests,bench} "$l"/tools/ui/{src,tests,static,scripts} "$l"/tools/mtmd/tests
for b in "$l"/ggml/src/ggml-*/; do
  case "$(basename "$b")" in ggml-cpu|ggml-cuda|ggml-blas) ;; *) rm -rf "$b" ;; esac
done
mkdir -p "$out.tmp/pkg"
mv "$l" "$out.tmp/pkg/llama.cpp"
mv "$out.tmp/src/llama_cpp" "$out.tmp/pkg/llama_cpp"
rm -rf "$out.tmp/pkg/llama_cpp/lib"
echo "$VERSION" >"$out.tmp/pkg/VERSION"
# reproducible (names sorted, fixed times, no gzip timestamp): gpu-check.sh keys its build cache on it
tar --sort=name --mtime=2000-01-01 --owner=0 --group=0 --numeric-owner -cf - -C "$out.tmp/pkg" . \
  | gzip -n >"$out.tmp/llama.cpp.tar.gz"
rm -rf "$out.tmp/src" "$out.tmp/pkg"

# the wheels: the node's requirements (pyproject.toml) and llama-cpp-python's, pinned to this venv's versions
reqs=$("$PYTHON" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
deps = [d for d in deps if not d.startswith(("llamanet-common", "llama-cpp-python"))]
print("\n".join(deps + ["diskcache>=5.6", "typing-extensions>=4.5", "openai>=1.40"]))
PY
)
"$PYTHON" -m pip freeze --exclude-editable 2>/dev/null | grep -v -e ' @ ' -e '^llama' >"$out.tmp/constraints.txt" || true
plat=()
for p in manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_27_x86_64 manylinux_2_28_x86_64 manylinux_2_34_x86_64 manylinux1_x86_64 manylinux_2_5_x86_64; do
  plat+=(--platform "$p")
done
echo ">> downloading the node's dependencies as Python $PYVER wheels" >&2
mapfile -t req_list <<<"$reqs"
"$PYTHON" -m pip download -q --only-binary=:all: --python-version "$PYVER" --implementation cp "${plat[@]}" \
  -c "$out.tmp/constraints.txt" -d "$out.tmp/wheels" "${req_list[@]}" >&2
# less what every GPU host has (large; the host's own version serves)
while read -r name; do
  [ -n "$name" ] && [ "${name#\#}" = "$name" ] || continue
  rm -f "$out.tmp/wheels/$(echo "$name" | tr - _)"-[0-9]*.whl
done <"$root/scripts/gpu-host-packages.txt"

# the tokenizer the random-weight models get
smol=$(ls "$MODELS"/smollm2-135m/*.gguf 2>/dev/null | head -n1 || true)
[ -n "$smol" ] || { echo "gpu-bundle.sh: no smollm2-135m in $MODELS (llamanet models pull smollm2-135m)" >&2; exit 1; }
PYTHONPATH="$root" "$PYTHON" -m tests.randmodel header "$smol" "$out.tmp/tokenizer.gguf" >/dev/null
{
  echo "llama-cpp-python $VERSION"
  echo "python $PYVER"
  echo "built $(date -u +%Y-%m-%dT%H:%MZ) from $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  ls "$out.tmp/wheels"
} >"$out.tmp/MANIFEST"
rm -f "$out.tmp/constraints.txt"
rm -rf "$out" && mv "$out.tmp" "$out"

bundle_kib=$(du -sk "$out" | cut -f1)
tree_kib=$(cd "$root" && git ls-files -co --exclude-standard -z | du -ck --files0-from=- 2>/dev/null | tail -n1 | cut -f1)
total=$(( (bundle_kib + tree_kib) / 1024 ))
echo ">> $out: $((bundle_kib / 1024)) MiB (sources $(du -h "$out/llama.cpp.tar.gz" | cut -f1)," \
  "$(ls "$out/wheels" | wc -l) wheels $(du -sh "$out/wheels" | cut -f1)); with the working tree $total MiB of $limit_mib" >&2
[ "$total" -lt "$limit_mib" ] || { echo "gpu-bundle.sh: over the $limit_mib MiB upload" >&2; exit 1; }
echo "$out"
