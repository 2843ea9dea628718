"""The operator image: llamanet-common and llamanet-operator, no node, no llama.cpp, small, non-root."""

from __future__ import annotations

import pytest

from tests.images import dockerctl

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MAX_OPERATOR_MB = 250


def test_image_runs_the_operator(operator_image: str) -> None:
    config = dockerctl.inspect(operator_image)["Config"]
    assert config["Entrypoint"] == ["llamanet-operator"] and config["Cmd"] == ["--all-namespaces"]
    out = dockerctl.docker("run", "--rm", operator_image, "--help")
    assert "usage: llamanet-operator" in out and "--all-namespaces" in out
    probe = "import llamanet_operator.handlers, llamanet_operator.run; print('ok')"
    ok = dockerctl.docker("run", "--rm", "--entrypoint", "python3", operator_image, "-c", probe)
    assert ok.strip() == "ok"


def test_no_llama_cpp_and_small(operator_image: str) -> None:
    probe = (
        "import importlib.util as u; "
        "print(u.find_spec('llama_cpp'), u.find_spec('llamanet'), u.find_spec('kopf') is not None)"
    )
    out = dockerctl.docker("run", "--rm", "--entrypoint", "python3", operator_image, "-c", probe)
    assert out.split() == ["None", "None", "True"]
    user = dockerctl.docker("run", "--rm", "--entrypoint", "id", operator_image, "-u").strip()
    assert user != "0"
    size_mb = int(dockerctl.inspect(operator_image)["Size"]) / 1e6
    assert size_mb <= MAX_OPERATOR_MB, f"operator image is {size_mb:.0f} MB"


def test_node_image_size(node_image: str) -> None:
    size_mb = int(dockerctl.inspect(node_image)["Size"]) / 1e6
    assert size_mb <= 500, f"node image is {size_mb:.0f} MB"
