"""A LlamaNode's pods under the operator's swarm authority: their env and mounts, the spec field, the
settings and the observation pass that issues their certificates (against a fake ``Kube``) and counts
them in the status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llamanet_common.certs import issue_certificate, parse_chain, verify_chain
from llamanet_common.identity import NodeIdentity
from llamanet_operator.authority import Authority
from llamanet_operator.errors import SpecError
from llamanet_operator.names import Owner
from llamanet_operator.podsecurity import restricted_violations
from llamanet_operator.reconcile import Certifier, observe
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import advice, parse_spec
from llamanet_operator.statefulset import build_statefulset
from tests.unit.operator.conftest import url_spec

NOW = 1_800_000_000.0
ROOT = NodeIdentity.generate()
SITE = NodeIdentity.generate()
ROOTS = frozenset({ROOT.public_key_hex})


def pod_spec(owner: Owner, roots: frozenset[str] | None, **spec: Any) -> dict[str, Any]:
    sts = build_statefulset(owner, parse_spec(url_spec(**spec)), "img:1", roots)
    pod: dict[str, Any] = sts["spec"]["template"]["spec"]
    return pod


def env(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["containers"][0]["env"]}


def test_certified_pods_trust_the_roots_and_mount_their_own_chain(owner: Owner) -> None:
    pod = pod_spec(owner, frozenset({"bb" * 32, "aa" * 32}))
    assert env(pod)["SWARM_AUTHORITY"] == f"{'aa' * 32},{'bb' * 32}"
    assert env(pod)["SWARM_CERT_FILE"] == "/etc/llamanet/certs/$(POD_NAME)"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "certs"]
    assert volume["configMap"] == {"name": "smollm-certs", "optional": True}  # the pod starts before it
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "certs"]
    assert mount == {"name": "certs", "mountPath": "/etc/llamanet/certs", "readOnly": True}  # no subPath
    assert restricted_violations(pod) == []
    plain = pod_spec(owner, None)
    assert "SWARM_AUTHORITY" not in env(plain) and "SWARM_CERT_FILE" not in env(plain)
    assert "certs" not in [v["name"] for v in plain["volumes"]]


def test_the_spec_field_opts_out_or_names_roots() -> None:
    spec = parse_spec(url_spec())
    assert spec.swarm.authority.enabled and spec.swarm.authority.roots == []
    spec = parse_spec(url_spec(swarm={"authority": {"enabled": False, "roots": ["AB" * 32]}}))
    assert not spec.swarm.authority.enabled and spec.swarm.authority.roots == ["ab" * 32]
    with pytest.raises(SpecError, match=r"swarm\.authority\.roots"):
        parse_spec(url_spec(swarm={"authority": {"roots": ["not-a-key"]}}))


def test_an_api_key_with_an_authority_needs_no_swarm_secret_to_take_forwarded_work() -> None:
    keyed = parse_spec(url_spec(apiKeySecretRef={"name": "a"}))
    assert [r for r, _ in advice(keyed)] == ["ForwardedWorkRefused"]
    assert advice(keyed, certified=True) == []  # certified members forward to keyed pods, secret or not
    rooted = parse_spec(url_spec(swarm={"authority": {"roots": ["ab" * 32]}}))
    assert [r for r, _ in advice(rooted)] == ["NoSwarmAuthority"] and advice(rooted, certified=True) == []


def test_authority_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OperatorSettings().authority_key_file is None and OperatorSettings().cert_hours == 24
    monkeypatch.setenv("LLAMANET_OPERATOR_AUTHORITY_KEY_FILE", "/etc/llamanet/authority/authority.key")
    monkeypatch.setenv("LLAMANET_OPERATOR_AUTHORITY_ROOTS", json.dumps(["CD" * 32]))
    monkeypatch.setenv("LLAMANET_OPERATOR_CERT_HOURS", "6")
    settings = OperatorSettings()
    assert str(settings.authority_key_file) == "/etc/llamanet/authority/authority.key"
    assert settings.authority_roots == ["cd" * 32] and settings.cert_hours == 6
    for name, bad in (("CERT_HOURS", "0.01"), ("AUTHORITY_ROOTS", '["xyz"]')):
        monkeypatch.setenv(f"LLAMANET_OPERATOR_{name}", bad)
        with pytest.raises(ValueError):
            OperatorSettings()


def ready(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


class FakeKube:
    """The cluster as the observation pass reads it: pods, their /metrics, the certificate ConfigMap."""

    def __init__(self, pods: dict[str, NodeIdentity]) -> None:
        self.pods_by_name = pods
        self.cert_ends: dict[str, int] = {}
        self.config: dict[str, str] | None = None
        self.applied = 0

    def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return [ready(name) for name in self.pods_by_name]

    def get_text(self, url: str, max_bytes: int) -> str | None:
        name = url.removeprefix("http://").split(".")[0]
        identity = self.pods_by_name[name]
        info = (
            f'llamanet_node_info{{node_id="{identity.node_id}",public_key="{identity.public_key_hex}"}} 1.0'
        )
        end = self.cert_ends.get(name, 0)
        return f"llamanet_slots_total 1.0\n{info}\nllamanet_swarm_cert_not_after {end:.6e}\n"

    def mount_failures(self, namespace: str) -> list[dict[str, Any]]:
        return []

    def statefulset_status(self, namespace: str, name: str) -> dict[str, Any] | None:
        return {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "observedGeneration": 1}

    def config_map_data(self, namespace: str, name: str) -> dict[str, str] | None:
        assert name == "smollm-certs"
        return None if self.config is None else dict(self.config)

    def apply(self, obj: dict[str, Any]) -> None:
        assert obj["kind"] == "ConfigMap" and obj["metadata"]["ownerReferences"][0]["kind"] == "LlamaNode"
        self.config = dict(obj["data"])
        self.applied += 1


def run(kube: FakeKube, owner: Owner, authority: Authority | None, now: float, **spec: Any) -> dict[str, Any]:
    seen = observe(
        kube,  # type: ignore[arg-type]
        owner,
        parse_spec(url_spec(replicas=2, site="a", **spec)),
        1,
        None,
        "2027-01-15T08:00:00Z",
        certifier=Certifier(authority, 86400, now),
    )
    return seen.status


def site_authority() -> Authority:
    chain = [issue_certificate(ROOT, subject=SITE.public_key_hex, role="authority", sites=["a"],
                               not_before=int(NOW) - 60, not_after=int(NOW) + 30 * 86400)]  # fmt: skip
    return Authority(SITE, chain, ROOTS)


def test_ready_pods_are_certified_in_the_first_observation_and_counted(owner: Owner) -> None:
    pods = {"smollm-0": NodeIdentity.generate(), "smollm-1": NodeIdentity.generate()}
    kube = FakeKube(pods)
    status = run(kube, owner, site_authority(), NOW)
    assert kube.config is not None and sorted(kube.config) == ["smollm-0", "smollm-1"]
    for name, identity in pods.items():
        scope = verify_chain(parse_chain(kube.config[name]), identity.public_key_hex, ROOTS, NOW)
        assert scope.sites == {"a"} and scope.models == {"smollm2-135m"}
    assert status["certificates"] == "0/2"  # issued; the nodes have not read them yet
    kube.cert_ends = {"smollm-0": int(NOW) + 86400}
    status = run(kube, owner, site_authority(), NOW + 30)
    assert status["certificates"] == "1/2" and kube.applied == 1  # nothing new to apply
    degraded = {c["type"]: c for c in status["conditions"]}["Degraded"]
    assert degraded["status"] == "False"


def test_an_expired_delegation_is_degraded_and_issues_nothing(owner: Owner) -> None:
    chain = [issue_certificate(ROOT, subject=SITE.public_key_hex, role="authority",
                               not_before=int(NOW) - 7200, not_after=int(NOW) - 60)]  # fmt: skip
    kube = FakeKube({"smollm-0": NodeIdentity.generate()})
    status = run(kube, owner, Authority(SITE, chain, ROOTS), NOW)
    degraded = {c["type"]: c for c in status["conditions"]}["Degraded"]
    assert degraded["status"] == "True" and degraded["reason"] == "AuthorityUnavailable"
    assert "expired" in degraded["message"] and kube.config is None and status["phase"] == "Degraded"


def test_a_site_outside_the_delegation_is_degraded(owner: Owner) -> None:
    kube = FakeKube({"smollm-0": NodeIdentity.generate()})
    status = run(kube, owner, site_authority(), NOW, model=url_spec()["model"])
    assert {c["type"]: c for c in status["conditions"]}["Degraded"]["status"] == "False"
    outside = observe(
        kube,  # type: ignore[arg-type]
        owner,
        parse_spec(url_spec(site="b")),
        1,
        None,
        "2027-01-15T08:00:00Z",
        certifier=Certifier(site_authority(), 86400, NOW),
    ).status
    degraded = {c["type"]: c for c in outside["conditions"]}["Degraded"]
    assert degraded["reason"] == "CertificateScope" and "site 'b'" in degraded["message"]


def test_roots_of_the_spec_that_do_not_lead_to_the_authority_are_degraded(owner: Owner) -> None:
    kube = FakeKube({"smollm-0": NodeIdentity.generate()})
    other = NodeIdentity.generate().public_key_hex
    status = run(kube, owner, site_authority(), NOW, swarm={"authority": {"roots": [other]}})
    degraded = {c["type"]: c for c in status["conditions"]}["Degraded"]
    assert (
        degraded["reason"] == "AuthorityUnavailable"
        and "not a trusted swarm authority" in degraded["message"]
    )
    assert kube.config is None  # nothing the pods would refuse is issued
    both = run(
        kube, owner, site_authority(), NOW, swarm={"authority": {"roots": [other, ROOT.public_key_hex]}}
    )
    assert {c["type"]: c for c in both["conditions"]}["Degraded"]["status"] == "False"
    assert kube.config is not None and list(kube.config) == ["smollm-0"]


def test_without_an_authority_or_opted_out_nothing_is_issued_or_counted(owner: Owner) -> None:
    kube = FakeKube({"smollm-0": NodeIdentity.generate()})
    plain = observe(kube, owner, parse_spec(url_spec()), 1, None, "2027-01-15T08:00:00Z")  # type: ignore[arg-type]
    assert plain.status["certificates"] is None and kube.config is None
    status = run(kube, owner, site_authority(), NOW, swarm={"authority": {"enabled": False}})
    assert status["certificates"] is None and kube.config is None
    # configured but unreadable this pass (the caller reports why): counted, nothing issued
    assert run(kube, owner, None, NOW)["certificates"] == "0/2" and kube.config is None
