"""Mutation check: do the tests notice when a defence is broken on purpose?

Each mutation below is a deliberate breakage (ignore logit_bias, drop the record signature check, skip
the sha256 check, route to a random node ...). For each one this script copies the tree to a temporary
folder, applies the breakage there (never in your checkout), runs the test files that should catch it,
and reports whether at least one test failed ("caught") or all passed ("MISSED"). A mutation whose
code snippet is no longer in the source is reported as "stale" (update the table when the code moves).

    .venv/bin/python bench/mutation_check.py            # every mutation
    .venv/bin/python bench/mutation_check.py --quick    # only the ones unit tests should catch (seconds)
    .venv/bin/python bench/mutation_check.py --list

Not part of `make test`. Exit status: 0 when every mutation was caught, 1 otherwise. Results and the
command are recorded in docs/testing.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    path: str  # file the breakage goes into, relative to the repository root
    old: str  # exact source text replaced (must occur exactly once)
    new: str
    tests: tuple[str, ...]  # pytest targets that must catch it
    quick: bool  # unit tests only: no models, no processes


MUTATIONS = [
    Mutation(
        "logit-bias-translate",
        "the API drops the request's logit_bias before it reaches the sampler",
        "node/llamanet/api/translate.py",
        "for key, value in (body.logit_bias or {}).items():",
        "for key, value in {}.items():",
        ("tests/unit/api/test_translate.py",),
        quick=True,
    ),
    Mutation(
        "logit-bias-sampler",
        "the sampler ignores logit_bias (greedy path and sampler chain)",
        "node/llamanet/engine/sampler.py",
        "    return Greedy(tokens, values)\n",
        "    return Greedy(tokens[:0], values[:0])\n",
        ("tests/integration/test_batching.py::test_concurrent_requests_keep_their_own_sampling",),
        quick=False,
    ),
    Mutation(
        "record-signature",
        "records are accepted whatever their signature",
        "node/llamanet/swarm/validation.py",
        "    if not verify_signature(record.public_key, record.canonical_bytes(), record.signature):\n",
        "    if False:\n",
        ("tests/unit/swarm",),
        quick=True,
    ),
    Mutation(
        "sha256-url",
        "a URL download is installed whatever its sha256",
        "node/llamanet/models/url_source.py",
        "    elif digest != sha256.lower():\n",
        "    elif False:\n",
        ("tests/unit/models/test_url_source.py",),
        quick=True,
    ),
    Mutation(
        "sha256-wheel",
        "a catalog model from PyPI wheels is installed whatever its sha256",
        "node/llamanet/models/wheel_source.py",
        "    if digest.hexdigest() != model.sha256:\n",
        "    if False:\n",
        ("tests/unit/models/test_wheel_source.py",),
        quick=True,
    ),
    Mutation(
        "no-failover-before-first-token",
        "a stream whose node closes before its first token is not retried on the next node",
        "node/llamanet/routing/forwarder.py",
        '            raise _Retry("closed before the first token") from exc\n',
        '            return Response(b"", status_code=502)\n',
        ("tests/integration/test_forwarding_failures.py",),
        quick=False,
    ),
    Mutation(
        "silent-mid-stream-cut",
        "a stream that breaks mid-way just ends, without the upstream_failed event",
        "node/llamanet/routing/forwarder.py",
        '        yield f"data: {json.dumps(error)}\\n\\n".encode()\n',
        "        del error\n",
        ("tests/integration/test_forwarding_failures.py",),
        quick=False,
    ),
    Mutation(
        "route-random-unit",
        "the router orders candidates at random instead of by fresh load",
        "node/llamanet/routing/policy.py",
        "    return sorted(probed, key=key) + sorted(rest, key=key)\n",
        "    import random as _r\n    out = [*probed, *rest]\n    _r.shuffle(out)\n    return out\n",
        ("tests/unit/routing/test_policy.py",),
        quick=True,
    ),
    Mutation(
        "route-random-swarm",
        "the same random routing, against real node processes (a swamped peer must get nothing)",
        "node/llamanet/routing/policy.py",
        "    return sorted(probed, key=key) + sorted(rest, key=key)\n",
        "    import random as _r\n    out = [*probed, *rest]\n    _r.shuffle(out)\n    return out\n",
        ("tests/integration/test_forwarding_failures.py",),
        quick=False,
    ),
]


def copy_tree(dest: Path) -> None:
    """The files git knows (tracked and untracked, not ignored) of this checkout: no venv, no caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    vendor = ROOT / "node/llamanet/web/static/vendor"  # built, gitignored; the UI needs it
    if vendor.is_dir():
        shutil.copytree(vendor, dest / "node/llamanet/web/static/vendor", dirs_exist_ok=True)


def run_tests(tree: Path, targets: tuple[str, ...], timeout: float) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(tree / p) for p in ("common", "node", "operator"))}
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *targets]
    try:
        out = subprocess.run(
            cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return 124, "timed out"
    lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    return out.returncode, lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="deliberate breakages must make at least one test fail")
    ap.add_argument("--quick", action="store_true", help="only the mutations unit tests should catch")
    ap.add_argument("--only", action="append", default=[], help="run this mutation (repeatable)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run of each target")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per pytest run")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if (not args.quick or m.quick) and (not args.only or m.name in args.only)]
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:22} {'quick' if m.quick else 'model':6} {m.path}: {m.what}")
        return 0
    missed = 0
    with tempfile.TemporaryDirectory(prefix="llamanet-mutants-") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        if not args.no_baseline:
            targets = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            rc, last = run_tests(tree, targets, args.timeout)
            print(f"baseline (no mutation) {' '.join(targets)}: rc {rc}: {last}", flush=True)
            if rc != 0:
                print("the unmutated tests fail: a mutation check would prove nothing", file=sys.stderr)
                return 2
        for m in chosen:
            target = tree / m.path
            source = target.read_text()
            if source.count(m.old) != 1:
                print(f"{m.name:22} stale   (its snippet is not in {m.path} exactly once)", flush=True)
                missed += 1
                continue
            target.write_text(source.replace(m.old, m.new))
            start = time.monotonic()
            try:
                rc, last = run_tests(tree, m.tests, args.timeout)
            finally:
                target.write_text(source)
            verdict = "caught" if rc == 1 else ("MISSED" if rc == 0 else f"error rc={rc}")
            missed += verdict != "caught"
            took = time.monotonic() - start
            print(f"{m.name:22} {verdict:7} {took:5.0f}s  {' '.join(m.tests)}: {last}", flush=True)
    print(f"{len(chosen) - missed}/{len(chosen)} mutations caught")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
