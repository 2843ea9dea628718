"""The operator's policy bounds images, env sources, runtime and priority classes."""

from __future__ import annotations

from typing import Any

import pytest

from llamanet_operator.errors import SpecError
from llamanet_operator.policy import (
    Policy,
    PolicyError,
    default_image_prefixes,
    enforce,
    image_repository,
    violations,
)
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import parse_spec
from tests.unit.operator.conftest import url_spec


def policy(**settings: Any) -> Policy:
    return Policy.from_settings(
        OperatorSettings(node_image="reg.example:5000/llamanet/node:0.1.0", **settings)
    )


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("llamanet/node:0.1.0", "llamanet/node"),
        ("reg.example:5000/llamanet/node:dev", "reg.example:5000/llamanet/node"),
        ("reg.example:5000/llamanet/node", "reg.example:5000/llamanet/node"),
        ("llamanet/node@sha256:abcd", "llamanet/node"),
    ],
)
def test_image_repository(image: str, repo: str) -> None:
    assert image_repository(image) == repo


def test_default_prefixes_admit_the_node_image_and_its_cuda_variant() -> None:
    prefixes = default_image_prefixes("llamanet/node:0.1.0")
    p = Policy(prefixes)
    for image in (
        "llamanet/node:0.2.0",
        "llamanet/node:dev-cuda",
        "llamanet/node-cuda:0.1.0",
        "llamanet/node@sha256:ab",
    ):
        assert violations(parse_spec(url_spec(image=image)), p) == [], image
    for image in ("llamanet/nodeevil:1", "evil/node:0.1.0", "llamanet/node"):
        assert violations(parse_spec(url_spec(image=image)), p), image
    assert violations(parse_spec(url_spec()), p) == []  # no image: the operator's own


def test_configured_prefixes_replace_the_default() -> None:
    p = policy(allowed_image_prefixes=["mirror.example/llamanet/"])
    assert violations(parse_spec(url_spec(image="mirror.example/llamanet/node:1")), p) == []
    assert violations(parse_spec(url_spec(image="reg.example:5000/llamanet/node:0.1.0")), p)


def test_runtime_and_priority_classes_need_the_allow_lists() -> None:
    spec = parse_spec(url_spec(runtimeClassName="nvidia", priorityClassName="high"))
    found = violations(spec, policy())
    assert len(found) == 2 and "runtimeClassName 'nvidia'" in found[0] and "priorityClassName" in found[1]
    allowed = policy(allowed_runtime_classes=["nvidia"], allowed_priority_classes=["high"])
    assert violations(spec, allowed) == []


def secret_env(name: str) -> dict[str, Any]:
    return {"name": "X", "valueFrom": {"secretKeyRef": {"name": name, "key": "k"}}}


def test_env_value_from_only_secrets_the_spec_names() -> None:
    named = url_spec(apiKeySecretRef={"name": "api"}, swarm={"secretRef": {"name": "swarm"}})
    ok = [
        secret_env("api"),
        secret_env("swarm"),
        {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "x"}}},
    ]
    assert violations(parse_spec({**named, "env": ok}), policy()) == []
    bad = parse_spec({**named, "env": [secret_env("db-password")]})
    (found,) = violations(bad, policy())
    assert "'db-password'" in found
    assert violations(bad, policy(allowed_env_secrets=["db-password"])) == []


def test_env_config_maps_and_other_sources() -> None:
    cm = {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}
    spec = parse_spec(url_spec(env=[cm]))
    assert violations(spec, policy()) and violations(spec, policy(allowed_env_config_maps=["cfg"])) == []
    odd = parse_spec(url_spec(env=[{"name": "O", "valueFrom": {"fileKeyRef": {"path": "/etc/shadow"}}}]))
    assert violations(odd, policy())
    two = parse_spec(
        url_spec(env=[{"name": "T", "valueFrom": {"fieldRef": {}, "secretKeyRef": {"name": "x"}}}])
    )
    assert violations(two, policy())


def test_enforce_raises_a_permanent_policy_error_naming_every_violation() -> None:
    spec = parse_spec(url_spec(image="evil/x:1", runtimeClassName="r"))
    with pytest.raises(PolicyError) as info:
        enforce(spec, policy())
    assert isinstance(info.value, SpecError) and info.value.reason == "PolicyViolation"
    assert "image 'evil/x:1'" in str(info.value) and "runtimeClassName" in str(info.value)
