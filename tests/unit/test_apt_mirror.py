"""images/apt-mirror.sh: the Debian mirror comes from the machine's apt sources, in both formats."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "images" / "apt-mirror.sh"


def mirror(etc: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        env={"APT_SOURCES_DIR": str(etc), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_one_line_format_with_options_and_comments(etc: Path) -> None:
    (etc / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.site.local/debian/ bookworm main\n"
        "deb http://sec.site.local/debian-security bookworm-security main  # security\n"
    )
    assert mirror(etc, "bookworm").stdout.strip() == "http://mirror.site.local/debian"
    assert mirror(etc, "bookworm-security").stdout.strip() == "http://sec.site.local/debian-security"


def test_deb822_sources_skip_disabled_and_other_suites(etc: Path) -> None:
    (etc / "sources.list.d" / "a-vendor.sources").write_text(
        "Types: deb\nURIs: https://vendor.example/apt\nSuites: nodistro\nComponents: main\n"
    )
    (etc / "sources.list.d" / "b-off.sources").write_text(
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n"
    )
    (etc / "sources.list.d" / "debian.sources").write_text(
        "Types: deb deb-src\n# a comment\nURIs: http://deb.site.local/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n"
        "\nTypes: deb\nURIs: http://deb.site.local/debian-security\nSuites: bookworm-security\n"
    )
    (etc / "sources.list.d" / "ignored.list.disabled").write_text(
        "deb http://no.example/debian bookworm main\n"
    )
    assert mirror(etc, "bookworm").stdout.strip() == "http://deb.site.local/debian"
    assert mirror(etc, "bookworm-updates").stdout.strip() == "http://deb.site.local/debian"
    assert mirror(etc, "bookworm-security").stdout.strip() == "http://deb.site.local/debian-security"


def test_no_source_for_the_suite_fails_unless_a_debian_mirror_may_stand_in(etc: Path) -> None:
    (etc / "sources.list").write_text("deb http://deb.site.local/debian trixie main\n")
    missing = mirror(etc, "bookworm")
    assert missing.returncode == 1 and missing.stdout == ""
    assert mirror(etc, "bookworm", "--debian").stdout.strip() == "http://deb.site.local/debian"


def test_make_base_names_no_mirror_host() -> None:
    text = (SCRIPT.parent / "make-base.sh").read_text()
    assert "apt-mirror.sh" in text and "deb.debian.org" not in text
