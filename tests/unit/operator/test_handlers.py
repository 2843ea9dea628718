from __future__ import annotations

import kopf
import pytest
from kopf._cogs.structs.references import NamespaceName, match_namespace

from llamanet_operator.errors import (
    AuthorityError,
    CapacityError,
    DependencyError,
    KubeError,
    OperatorError,
    SpecError,
)
from llamanet_operator.handlers import Context, certifier, problem_of, register, to_kopf
from llamanet_operator.policy import PolicyError
from llamanet_operator.run import scope
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.status import Observation, compute_status, new_warnings


def test_spec_errors_are_permanent_others_temporary() -> None:
    assert isinstance(to_kopf(SpecError("bad")), kopf.PermanentError)
    for exc, delay in ((DependencyError("x"), 60.0), (CapacityError("x"), 300.0), (KubeError("x"), 15.0)):
        err = to_kopf(exc)
        assert isinstance(err, kopf.TemporaryError) and err.delay == delay
    assert problem_of(SpecError("bad")).permanent and not problem_of(DependencyError("x")).permanent
    assert problem_of(CapacityError("no gpus")).reason == "InsufficientCapacity"


def test_an_unreadable_swarm_authority_is_retried_and_reported() -> None:
    err = to_kopf(AuthorityError("swarm authority key: no key file /x"))
    assert isinstance(err, kopf.TemporaryError) and err.delay == 30.0
    problem = problem_of(AuthorityError("x"))
    assert problem.reason == "AuthorityUnavailable" and not problem.permanent
    assert certifier(OperatorSettings(), None) is None  # no authority configured: no certificates
    configured = certifier(OperatorSettings(authority_key_file="/k", cert_hours=6), None)  # type: ignore[arg-type]
    assert configured is not None and configured.authority is None and configured.lifetime_s == 6 * 3600


def test_policy_refusals_are_permanent_problems() -> None:
    # a refused spec: Degraded (reason PolicyViolation) with a Warning Event, no retry until it changes
    exc = PolicyError("refused by the operator's policy: image 'evil/x:1' ...")
    assert isinstance(to_kopf(exc), kopf.PermanentError)
    problem = problem_of(exc)
    assert problem.permanent and problem.reason == "PolicyViolation"
    status = compute_status(
        Observation(generation=1, replicas=1, selector="", endpoint="", problem=problem),
        None,
        "2026-01-01T00:00:00Z",
    )
    assert status["phase"] == "Failed"
    (warning,) = new_warnings(None, status)
    assert warning["reason"] == "PolicyViolation" and "evil/x:1" in warning["message"]


def test_register_puts_handlers_on_the_registry() -> None:
    registry = kopf.OperatorRegistry()
    register(registry, OperatorSettings(observe_interval=7))
    handlers = registry._spawning.get_all_handlers()
    assert [h.id for h in handlers] == ["observe"] and handlers[0].interval == 7
    ids = {h.id for h in registry._changing.get_all_handlers()}
    assert ids == {"reconcile"}
    activities = {h.id for h in registry._activities.get_all_handlers()}
    assert {"configure", "login"} <= activities, activities
    assert Context(OperatorSettings()).kube is None


def test_scope_needs_exactly_one_choice() -> None:
    assert scope(OperatorSettings(namespaces=["a", "b"])) == (False, ["a", "b"])
    assert scope(OperatorSettings(all_namespaces=True)) == (True, [])
    with pytest.raises(OperatorError):
        scope(OperatorSettings())
    with pytest.raises(OperatorError):
        scope(OperatorSettings(namespaces=["a"], all_namespaces=True))


def test_cluster_scope_can_leave_namespaces_to_another_release() -> None:
    clusterwide, patterns = scope(
        OperatorSettings(all_namespaces=True, exclude_namespaces=["team-a", "team-b"])
    )
    assert (clusterwide, patterns) == (False, ["*,!team-a,!team-b"])
    (pattern,) = patterns
    assert not match_namespace(NamespaceName("team-a"), pattern)
    assert match_namespace(NamespaceName("default"), pattern)
    with pytest.raises(OperatorError):
        scope(OperatorSettings(namespaces=["a"], exclude_namespaces=["b"]))


def test_policy_and_exclusions_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # the chart passes lists as JSON
    monkeypatch.setenv("LLAMANET_OPERATOR_ALLOWED_IMAGE_PREFIXES", '["mirror.example/llamanet/"]')
    monkeypatch.setenv("LLAMANET_OPERATOR_EXCLUDE_NAMESPACES", '["team-a"]')
    settings = OperatorSettings()
    assert settings.allowed_image_prefixes == ["mirror.example/llamanet/"]
    assert settings.exclude_namespaces == ["team-a"]
