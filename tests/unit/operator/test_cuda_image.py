"""A LlamaNode with resources.gpus > 0 and no image runs the operator's CUDA image; the policy admits it."""

from __future__ import annotations

import pytest

from llamanet_common.version import __version__
from llamanet_operator.cli import build_parser
from llamanet_operator.names import Owner
from llamanet_operator.policy import Policy, cuda_image, default_image, violations
from llamanet_operator.reconcile import desired_children
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import parse_spec
from tests.unit.operator.conftest import url_spec


@pytest.mark.parametrize(
    ("node", "cuda"),
    [
        ("llamanet/node:0.1.0", "llamanet/node:0.1.0-cuda"),
        ("reg.example:5000/llamanet/node:dev", "reg.example:5000/llamanet/node:dev-cuda"),
        ("reg.example:5000/llamanet/node", "reg.example:5000/llamanet/node:latest-cuda"),
        ("llamanet/node@sha256:abcd", f"llamanet/node:{__version__}-cuda"),
    ],
)
def test_cuda_image_appends_cuda_to_the_tag(node: str, cuda: str) -> None:
    assert cuda_image(node) == cuda


def test_gpus_pick_the_cuda_image_by_default() -> None:
    settings = OperatorSettings(node_image="reg.example/llamanet/node:0.1.0")
    assert default_image(parse_spec(url_spec()), settings) == "reg.example/llamanet/node:0.1.0"
    gpu = parse_spec(url_spec(resources={"gpus": 1}))
    assert default_image(gpu, settings) == "reg.example/llamanet/node:0.1.0-cuda"
    own = OperatorSettings(node_image="llamanet/node:0.1.0", node_image_cuda="gpu.example/node:13.0")
    assert default_image(gpu, own) == "gpu.example/node:13.0"
    assert default_image(parse_spec(url_spec()), own) == "llamanet/node:0.1.0"


def test_the_statefulset_runs_the_cuda_image_unless_the_spec_names_one(owner: Owner) -> None:
    settings = OperatorSettings(node_image="llamanet/node:0.1.0")

    def image_of(spec: dict[str, object]) -> str:
        sts = [c for c in desired_children(owner, parse_spec(spec), settings) if c["kind"] == "StatefulSet"]
        return str(sts[0]["spec"]["template"]["spec"]["containers"][0]["image"])

    assert image_of(url_spec()) == "llamanet/node:0.1.0"
    assert image_of(url_spec(resources={"gpus": 2})) == "llamanet/node:0.1.0-cuda"
    assert image_of(url_spec(resources={"gpus": 1}, image="llamanet/node:mine")) == "llamanet/node:mine"


def test_the_default_policy_admits_the_cuda_image_wherever_it_lives() -> None:
    own = Policy.from_settings(
        OperatorSettings(node_image="llamanet/node:0.1.0", node_image_cuda="gpu.example/llamanet/node:13")
    )
    for image in ("gpu.example/llamanet/node:13", "llamanet/node:0.1.0-cuda", "llamanet/node-cuda:1"):
        assert violations(parse_spec(url_spec(image=image)), own) == [], image
    assert violations(parse_spec(url_spec(image="gpu.example/evil:1")), own)
    plain = Policy.from_settings(OperatorSettings(node_image="llamanet/node:0.1.0"))
    assert violations(parse_spec(url_spec(image=cuda_image("llamanet/node:0.1.0"))), plain) == []
    assert violations(parse_spec(url_spec(image="gpu.example/llamanet/node:13")), plain)


def test_flag_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["--all-namespaces", "--node-image-cuda", "r/node:1-cuda"])
    assert args.op_node_image_cuda == "r/node:1-cuda"
    monkeypatch.setenv("LLAMANET_OPERATOR_NODE_IMAGE_CUDA", "env/node:2-cuda")
    assert OperatorSettings().node_image_cuda == "env/node:2-cuda"
    monkeypatch.setenv("LLAMANET_OPERATOR_NODE_IMAGE_CUDA", "")  # the chart's empty value: the default
    assert OperatorSettings().node_image_cuda is None
