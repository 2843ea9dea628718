from __future__ import annotations

import subprocess
import sys

import pytest

from llamanet_operator.cli import build_parser, main


def test_help_lists_scope_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "llamanet_operator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.startswith("usage: llamanet-operator")
    assert "--namespace" in out.stdout and "--all-namespaces" in out.stdout and "--liveness" in out.stdout


def test_flags_parse() -> None:
    args = build_parser().parse_args(
        ["--namespace", "a", "--namespace", "b", "--observe-interval", "5", "--log-level", "debug"]
    )
    assert args.op_namespaces == ["a", "b"] and args.op_observe_interval == 5.0
    assert args.op_log_level == "DEBUG"


def test_without_scope_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 1
    assert "--all-namespaces" in capsys.readouterr().err


def test_scopes_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--namespace", "a", "--all-namespaces"])


def test_invalid_setting_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--all-namespaces", "--observe-interval", "0"]) == 2
    assert "observe_interval" in capsys.readouterr().err


def test_invalid_log_level_from_the_environment_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLAMANET_OPERATOR_LOG_LEVEL", "loud")
    assert main(["--all-namespaces"]) == 2
    assert "log_level" in capsys.readouterr().err


def test_log_lines_about_an_object_name_it(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from llamanet_operator.cli import configure_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging("INFO")
        ref = {"namespace": "lab", "name": "smol", "kind": "LlamaNode"}
        logging.getLogger("kopf.objects").info("Handler 'create' succeeded.", extra={"k8s_ref": ref})
        logging.getLogger("kopf.objects").debug("not at INFO")
    finally:
        root.handlers[:], root.level = handlers, level
    err = capsys.readouterr().err
    assert "[lab/smol] Handler 'create' succeeded." in err and "not at INFO" not in err
