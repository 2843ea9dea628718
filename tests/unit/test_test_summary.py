"""scripts/test-summary.py: the closing line of `make test`, counted from pytest's junit report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "test-summary.py"

REPORT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.unit.routing.test_pick" name="test_a" time="0.010" />
<testcase classname="tests.unit.test_settings.TestEnv" name="test_b" time="0.020" />
<testcase classname="tests.integration.test_batching" name="test_bias[smol]" time="41.500" />
<testcase classname="tests.integration.test_batching" name="test_overlap" time="12.000">
  <failure message="x">boom</failure><error message="teardown">also</error></testcase>
<testcase classname="tests.ui.test_chat" name="test_stop" time="7.000"><skipped message="s" /></testcase>
<testcase classname="e2e.test_two_sites" name="test_join" time="95.000" />
</testsuite></testsuites>"""


def run(tmp_path: Path, *extra: str) -> str:
    results = tmp_path / "r.xml"
    results.write_text(REPORT)
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(results), "--pytest-seconds", "754", *extra],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.count("\n") == 1, out  # one line
    return out


def test_counts_per_suite_wall_time_and_slowest(tmp_path: Path) -> None:
    line = run(tmp_path, "--total-seconds", "900", "--exit-code", "1")
    assert line.startswith("make test: FAILED (pytest exit 1): 6 tests (")
    assert "unit 2 passed; integration 1 passed 1 failed; ui 1 skipped; e2e 1 passed" in line
    assert "pytest 12m 34s, make test 15m 00s" in line
    slowest = line.split("slowest: ")[1]
    assert slowest.index("e2e.test_two_sites::test_join 95s") < slowest.index("test_bias[smol] 42s")


def test_success_and_missing_report(tmp_path: Path) -> None:
    assert run(tmp_path).startswith("make test: OK: 6 tests")
    missing = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(tmp_path / "none.xml"),
            "--pytest-seconds",
            "1",
            "--exit-code",
            "4",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "no results" in missing and "pytest exit 4" in missing
