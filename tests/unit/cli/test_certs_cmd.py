"""``llamanet swarm authority create``, ``swarm pubkey`` and ``swarm cert issue``: keys and chains that
``verify_chain`` accepts, and the refusals (an existing key file, a widening delegation, a delegated
authority delegating again); the node's flags reach the settings."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from llamanet.cli.main import build_parser, main, settings_from
from llamanet_common.certs import verify_chain
from llamanet_common.identity import NodeIdentity


def create(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["swarm", "authority", "create", "--out", str(tmp_path / name)]) == 0
    return capsys.readouterr().out.strip()


def test_authority_create_prints_the_public_key_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = create(tmp_path, "root.pem", capsys)
    assert len(key) == 64 and NodeIdentity.load_or_create(tmp_path / "root.pem").public_key_hex == key
    assert (tmp_path / "root.pem").stat().st_mode & 0o077 == 0
    assert main(["swarm", "authority", "create", "--out", str(tmp_path / "root.pem")]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["swarm", "pubkey", str(tmp_path / "root.pem")]) == 0
    assert capsys.readouterr().out.strip() == key


def test_a_root_delegates_to_a_site_which_certifies_its_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, site = create(tmp_path, "root.pem", capsys), create(tmp_path, "site.pem", capsys)
    node = NodeIdentity.generate().public_key_hex
    delegate = ["swarm", "cert", "issue", "--authority-key", str(tmp_path / "root.pem"), "--subject", site]
    assert main([*delegate, "--authority-subject", "--models", "a,b", "--site", "site-a", "--days", "7",
                 "--out", str(tmp_path / "site.json")]) == 0  # fmt: skip
    issue = ["swarm", "cert", "issue", "--authority-key", str(tmp_path / "site.pem"), "--subject", node,
             "--issuer-chain", str(tmp_path / "site.json")]  # fmt: skip
    assert (
        main([*issue, "--models", "a", "--site", "site-a", "--hours", "2", "--out", str(tmp_path / "n.json")])
        == 0
    )
    chain = json.loads((tmp_path / "n.json").read_text())
    assert [c["role"] for c in chain] == ["node", "authority"]
    now = time.time()
    scope = verify_chain(chain, node, {root}, now)
    assert scope.allows("a", "site-a") and not scope.allows("b", "site-a") and not scope.allows("a", "site-b")
    assert 2 * 3600 - 60 <= scope.not_after - now <= 2 * 3600
    # by default a node certificate lives 24 h, never past the delegation (7 days here, 1 h below)
    assert main([*issue, "--models", "a", "--site", "site-a", "--out", str(tmp_path / "d.json")]) == 0
    leaf = json.loads((tmp_path / "d.json").read_text())[0]
    assert leaf["not_after"] - leaf["not_before"] == 24 * 3600
    assert (
        main([*delegate, "--authority-subject", "--hours", "1", "--out", str(tmp_path / "short.json")]) == 0
    )
    short = ["swarm", "cert", "issue", "--authority-key", str(tmp_path / "site.pem"), "--subject", node,
             "--issuer-chain", str(tmp_path / "short.json"), "--out", str(tmp_path / "s.json")]  # fmt: skip
    assert main(short) == 0
    leaf = json.loads((tmp_path / "s.json").read_text())[0]
    assert leaf["not_after"] - leaf["not_before"] <= 3600


def test_a_site_cannot_widen_its_delegation_nor_delegate_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create(tmp_path, "root.pem", capsys)
    site = create(tmp_path, "site.pem", capsys)
    node = NodeIdentity.generate().public_key_hex
    delegate = ["swarm", "cert", "issue", "--authority-key", str(tmp_path / "root.pem"), "--subject", site]
    assert main([*delegate, "--authority-subject", "--models", "a", "--site", "site-a",
                 "--out", str(tmp_path / "site.json")]) == 0  # fmt: skip
    capsys.readouterr()
    issue = ["swarm", "cert", "issue", "--authority-key", str(tmp_path / "site.pem"),
             "--issuer-chain", str(tmp_path / "site.json")]  # fmt: skip
    for widening in (
        ["--models", "b", "--site", "site-a"],
        ["--models", "a", "--site", "site-b"],
        ["--models", "a"],
    ):
        assert main([*issue, "--subject", node, *widening, "--out", str(tmp_path / "w.json")]) == 1
        assert "widens" in capsys.readouterr().err
    assert not (tmp_path / "w.json").exists()
    again = [*issue, "--subject", node, "--authority-subject", "--out", str(tmp_path / "x.json")]
    assert main(again) == 1 and "cannot delegate again" in capsys.readouterr().err
    bad = [
        "swarm",
        "cert",
        "issue",
        "--authority-key",
        str(tmp_path / "root.pem"),
        "--out",
        str(tmp_path / "y"),
    ]
    assert main([*bad, "--subject", "nothex"]) == 1 and "64-hex-digit" in capsys.readouterr().err
    assert main([*bad, "--subject", "", "--days", "1"]) == 1
    assert main([*bad, "--subject", f"{node},{site}"]) == 1 and "one public key" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --days and --hours exclude each other
        main([*bad, "--subject", node, "--days", "1", "--hours", "1"])


def test_node_flags_for_the_authority_reach_the_settings(tmp_path: Path) -> None:
    key = NodeIdentity.generate().public_key_hex
    (tmp_path / "roots").write_text(f"{key}\n")
    args = build_parser().parse_args(
        ["node", "--swarm-authority", key, "--swarm-authority-file", str(tmp_path / "roots"),
         "--swarm-cert-file", str(tmp_path / "chain.json")]
    )  # fmt: skip
    s = settings_from(args)
    assert s.resolved_authorities() == {key} and s.swarm_cert_file == tmp_path / "chain.json"
    assert main(["node", "--swarm-authority", "0123"]) == 2


def test_help_names_the_commands_and_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["swarm", "--help"], ["swarm", "cert", "issue", "--help"], ["node", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
    out = capsys.readouterr().out
    for word in (
        "authority",
        "pubkey",
        "--authority-subject",
        "--issuer-chain",
        "--swarm-authority",
        "--swarm-cert-file",
    ):
        assert word in out
