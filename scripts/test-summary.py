#!/usr/bin/env python3
"""One line saying what a pytest run ran: counts per suite, wall time, the slowest tests.

    scripts/test-summary.py RESULTS.xml --pytest-seconds S [--total-seconds T] [--exit-code RC]

RESULTS.xml is pytest's ``--junitxml`` report. A suite is the folder a test lives in: ``tests/unit``
is ``unit``, ``tests/integration`` is ``integration`` (likewise ui, chart, images), ``e2e`` is ``e2e``.
Each test counts once, as failed (a failure or an error in any phase), skipped, or passed. The line is
printed after pytest's own closing line, which stays as pytest wrote it; the exit status is the caller's.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

SLOWEST = 3


def suite_of(classname: str) -> str:
    parts = classname.split(".")
    if parts[0] == "tests" and len(parts) > 2:
        return parts[1]
    return parts[0] or "?"


def outcome_of(case: ET.Element) -> str:
    tags = {child.tag for child in case}
    if tags & {"failure", "error"}:
        return "failed"
    if "skipped" in tags:
        return "skipped"
    return "passed"


def clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


def summarize(results: Path, pytest_seconds: float, total_seconds: float | None, exit_code: int) -> str:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    times: dict[str, float] = {}
    for case in ET.parse(results).getroot().iter("testcase"):
        classname = case.get("classname", "")
        test_id = f"{classname}::{case.get('name', '')}"
        if test_id in times:  # pytest writes one <testcase> per test, all its phases inside
            continue
        times[test_id] = float(case.get("time", "0") or 0)
        counts[suite_of(classname)][outcome_of(case)] += 1
    order = ["unit", "integration", "ui", "chart", "images", "e2e"]
    suites = sorted(counts, key=lambda s: (order.index(s) if s in order else len(order), s))
    parts = []
    for suite in suites:
        c = counts[suite]
        words = [f"{c[k]} {k}" for k in ("passed", "failed", "skipped") if c[k]]
        parts.append(f"{suite} {' '.join(words)}")
    total = sum(sum(c.values()) for c in counts.values())
    wall = f"pytest {clock(pytest_seconds)}"
    if total_seconds is not None:
        wall += f", make test {clock(total_seconds)} with setup, lint and type checks"
    slow = sorted(times.items(), key=lambda kv: -kv[1])[:SLOWEST]
    slowest = ", ".join(f"{name} {secs:.0f}s" for name, secs in slow)
    status = "OK" if exit_code == 0 else f"FAILED (pytest exit {exit_code})"
    return (
        f"make test: {status}: {total} tests ({'; '.join(parts) or 'none'}) in {wall}; "
        f"slowest: {slowest or '-'} (15 slowest phases listed above)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--pytest-seconds", type=float, required=True)
    ap.add_argument("--total-seconds", type=float)
    ap.add_argument("--exit-code", type=int, default=0)
    args = ap.parse_args(argv)
    if not args.results.is_file():
        print(f"make test: no results ({args.results} missing; pytest exit {args.exit_code})")
        return 0
    try:
        line = summarize(args.results, args.pytest_seconds, args.total_seconds, args.exit_code)
    except ET.ParseError as e:
        line = f"make test: unreadable results {args.results} ({e}); pytest exit {args.exit_code}"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
