from __future__ import annotations

import subprocess
import sys

import pytest

from llamanet.cli.main import build_parser, main


def test_operator_help_lists_scope_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "llamanet", "operator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--namespace" in out.stdout and "--all-namespaces" in out.stdout and "--liveness" in out.stdout


def test_operator_flags_parse() -> None:
    args = build_parser().parse_args(
        ["operator", "--namespace", "a", "--namespace", "b", "--observe-interval", "5"]
    )
    assert args.op_namespaces == ["a", "b"] and args.op_observe_interval == 5.0


def test_operator_without_scope_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["operator"]) == 1
    assert "--all-namespaces" in capsys.readouterr().err


def test_operator_scopes_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["operator", "--namespace", "a", "--all-namespaces"])
