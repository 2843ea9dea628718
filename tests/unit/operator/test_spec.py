from __future__ import annotations

import pytest

from llamanet_operator.errors import SpecError
from llamanet_operator.spec import advice, parse_spec
from tests.unit.operator.conftest import SHA, pvc_spec, url_spec


def test_defaults_match_the_crd() -> None:
    spec = parse_spec(url_spec())
    assert spec.replicas == 1
    assert spec.engine.context_size == 2048 and spec.engine.batch_size == 512
    assert spec.service.type == "ClusterIP" and spec.service.port == 8000
    assert spec.swarm.dht_service_type == "NodePort"
    assert spec.gpu_layers == 0


def test_gpus_offload_every_layer_unless_told() -> None:
    assert parse_spec(url_spec(resources={"gpus": 1})).gpu_layers == -1
    assert parse_spec(url_spec(resources={"gpus": 1}, engine={"gpuLayers": 20})).gpu_layers == 20


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"model": {"name": "m", "source": {}}}, "exactly one"),
        (
            {
                "model": {
                    "name": "m",
                    "source": {"url": "https://x/m", "sha256": SHA, "pvc": {"claimName": "c", "path": "p"}},
                }
            },
            "exactly one",
        ),
        ({"model": {"name": "m", "source": {"url": "https://x/m", "sha256": "abc"}}}, "64 hex"),
        ({"model": {"name": "m", "source": {"url": "ftp://x/m", "sha256": SHA}}}, "http(s) URL"),
        (url_spec(replicas=-1), "replicas"),
        (pvc_spec() | {"model": {"name": "g", "source": {"pvc": {"claimName": "c", "path": "../x"}}}}, ".."),
        (url_spec(swarm={"bootstrapPeers": ["no-port"]}), "bootstrapPeers"),
        (url_spec(swarm={"dhtServiceType": "LoadBalancer", "dhtNodePort": 30001}), "dhtNodePort"),
        (url_spec(swarm={"advertiseUrls": ["x.org"]}), "advertiseUrls"),
        (url_spec(swarm={"advertiseUrls": ["http://a.example.org:30800/v1"]}), "path"),
        (url_spec(swarm={"advertiseUrls": ["http://169.254.169.254"]}), "link-local"),
        (url_spec(service={"nodePort": 30900}), "service.nodePort"),
        (url_spec(routing={"allowedSites": ["a,b"]}), "allowedSites"),
        (url_spec(routing={"allowedSites": ["*"]}), "allowedSites"),
    ],
)
def test_invalid_specs_are_spec_errors(raw: dict[str, object], needle: str) -> None:
    with pytest.raises(SpecError, match=needle if needle != "http(s) URL" else r"http\(s\) URL"):
        parse_spec(raw)


def test_secret_key_defaults_match_the_crd() -> None:
    spec = parse_spec(url_spec(swarm={"secretRef": {"name": "s"}}, apiKeySecretRef={"name": "a"}))
    assert spec.swarm.secret_ref is not None and spec.swarm.secret_ref.key == "secret"
    assert spec.api_key_secret_ref is not None and spec.api_key_secret_ref.key == "api-key"


def test_an_api_key_without_the_swarm_secret_is_warned_about() -> None:
    # valid, but its nodes refuse forwarded work, so other sites cannot route to them: one Warning Event
    (warning,) = advice(parse_spec(url_spec(apiKeySecretRef={"name": "a"})))
    assert warning[0] == "ForwardedWorkRefused" and "swarm.secretRef" in warning[1]
    both = url_spec(swarm={"secretRef": {"name": "s"}}, apiKeySecretRef={"name": "a"})
    assert advice(parse_spec(both)) == [] and advice(parse_spec(url_spec())) == []
