import subprocess
import sys
from pathlib import Path

import pytest

from llamanet.cli.main import build_parser, main, settings_from
from tests.ggufgen import gguf_bytes


def test_node_flags_map_to_settings() -> None:
    args = build_parser().parse_args(
        [
            "node",
            "--model-path",
            "m.gguf",
            "--port",
            "8002",
            "--dht-port",
            "8003",
            "--node-id",
            "x",
            "--bootstrap-nodes",
            "localhost:8001",
            "--host",
            "::",
        ]
    )
    s = settings_from(args)
    assert (s.port, s.dht_port, s.node_id, s.bootstrap_nodes, s.host) == (
        8002,
        8003,
        "x",
        "localhost:8001",
        "::",
    )
    assert str(s.model_path) == "m.gguf"


def test_embeddings_is_a_switch_and_its_environment_variable_works(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_from(build_parser().parse_args(["node", "--embeddings"])).embeddings is True
    assert settings_from(build_parser().parse_args(["node"])).embeddings is False
    monkeypatch.setenv("EMBEDDINGS", "true")
    assert settings_from(build_parser().parse_args(["node"])).embeddings is True


def test_invalid_setting_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["node", "--port", "99999"]) == 2
    assert "invalid setting port" in capsys.readouterr().err


def _llamanet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llamanet", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_missing_model_file_exits_nonzero(tmp_path: Path) -> None:
    r = _llamanet(
        "node", "--model-path", str(tmp_path / "absent.gguf"), "--models-dir", str(tmp_path), cwd=tmp_path
    )
    assert r.returncode != 0
    assert "model not found" in r.stderr


def test_corrupt_model_exits_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(gguf_bytes(n_elements=4096)[:-1000])
    r = _llamanet("node", "--model-path", str(bad), cwd=tmp_path)
    assert r.returncode != 0
    assert "truncated model file" in r.stderr


def test_no_model_given(tmp_path: Path) -> None:
    r = _llamanet("node", cwd=tmp_path)
    assert r.returncode != 0 and "no model given" in r.stderr


def test_models_list_shows_catalog(tmp_path: Path) -> None:
    r = _llamanet("models", "--models-dir", str(tmp_path), "list", cwd=tmp_path)
    assert r.returncode == 0
    assert "smollm2-135m" in r.stdout and "gemma3-270m" in r.stdout


def test_unknown_model_pull(tmp_path: Path) -> None:
    r = _llamanet("models", "--models-dir", str(tmp_path), "pull", "no-such-model", cwd=tmp_path)
    assert r.returncode == 1 and "unknown model" in r.stderr


def test_the_operator_is_not_a_node_command(capsys: pytest.CaptureFixture[str]) -> None:
    # the operator is its own distribution and command (llamanet-operator)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["operator", "--all-namespaces"])
    assert "invalid choice: 'operator'" in capsys.readouterr().err


def test_secrets_as_flags_warn_towards_the_file_forms() -> None:
    from llamanet.cli.main import secret_flag_warnings

    args = build_parser().parse_args(["node", "--api-key", "k", "--swarm-secret", "s"])
    warnings = secret_flag_warnings(args)
    assert len(warnings) == 2
    assert "--api-key-file" in warnings[0] and "ps" in warnings[0]
    assert "--swarm-secret-file" in warnings[1]
    assert secret_flag_warnings(build_parser().parse_args(["node", "--api-key-file", "f"])) == []


def test_limit_flags_map_to_settings() -> None:
    args = build_parser().parse_args(
        ["node", "--max-body-bytes", "2048", "--header-timeout", "2", "--max-connections-per-client", "3"]
    )
    s = settings_from(args)
    assert (s.max_body_bytes, s.header_timeout, s.max_connections_per_client) == (2048, 2.0, 3)
