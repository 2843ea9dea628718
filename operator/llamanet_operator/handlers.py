"""kopf handlers (thin): configure kopf, reconcile on create/update/resume, observe on a timer.

The timer also issues and renews the pods' membership certificates when the operator holds a swarm
authority (``authority``, ``certificates``): within one observe interval of a pod being ready, and again
with a third of a certificate's life left. It carries out the autoscaler's decision (``autoscale``,
with ``spec.autoscaling``): it patches ``spec.replicas`` (which the reconcile handler then rolls out)
and records an Event. Without ``spec.autoscaling`` nothing writes ``spec.replicas``: ``kubectl scale
ln`` is the way.

Operator errors are mapped to kopf's at this edge: an invalid spec is permanent (no retry until the
spec changes); a missing Secret/PVC, missing GPUs or an API failure are temporary (retried with a
delay), an unreadable swarm authority too (nothing applied: the pods would trust no one). Each
problem also lands in the status (Degraded condition) and in a Warning Event.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf

from llamanet_operator.authority import Authority, pod_roots, read_authority
from llamanet_operator.errors import AuthorityError, CapacityError, KubeError, OperatorError, SpecError
from llamanet_operator.kube import Kube, load_config
from llamanet_operator.names import GROUP, PLURAL, VERSION, Owner
from llamanet_operator.reconcile import (
    Certifier,
    admit,
    apply_children,
    check_capacity,
    check_dependencies,
    observe,
    publish_addresses,
)
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import LlamaNodeSpec, advice, parse_spec
from llamanet_operator.status import Observation, Problem, compute_status, new_warnings

PREFIX = "llamanet.io"
RETRY_DELAY = {CapacityError: 300.0, KubeError: 15.0, AuthorityError: 30.0}
log = logging.getLogger(__name__)


@dataclass
class Context:
    settings: OperatorSettings
    kube: Kube | None = None


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_kopf(exc: OperatorError) -> kopf.PermanentError | kopf.TemporaryError:
    """The kopf error for one of ours: permanent for a bad spec, temporary (with a delay) otherwise."""
    if isinstance(exc, SpecError):
        return kopf.PermanentError(str(exc))
    return kopf.TemporaryError(str(exc), delay=RETRY_DELAY.get(type(exc), 60.0))


def problem_of(exc: OperatorError) -> Problem:
    return Problem(exc.reason, str(exc), permanent=isinstance(exc, SpecError))


def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """kopf's own marks under our prefix; API clients."""
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    ctx: Context = memo["ctx"]
    load_config()
    ctx.kube = Kube(ctx.settings.field_manager, ctx.settings.http_timeout)


def _kube(ctx: Context) -> Kube:
    if ctx.kube is None:
        raise kopf.TemporaryError("the operator is still starting", delay=5)
    return ctx.kube


def certifier(settings: OperatorSettings, authority: Authority | None) -> Certifier | None:
    """The observation's swarm authority part; None when the operator has none configured."""
    if settings.authority_key_file is None:
        return None
    return Certifier(authority, int(settings.cert_hours * 3600), time.time())


def _publish(body: kopf.Body, patch: kopf.Patch, old: dict[str, Any], new: dict[str, Any]) -> None:
    for cond in new_warnings(old, new):
        kopf.warn(body, reason=cond["reason"], message=cond["message"])
    patch.status.update(new)


def _handling(body: kopf.Body, memo: kopf.Memo) -> tuple[Context, Kube, Owner, dict[str, Any], int]:
    """What every handler starts from: the context, the API client, the owner, status and generation."""
    ctx: Context = memo["ctx"]
    owner = Owner.from_body(dict(body), ctx.settings.cluster_domain)
    return ctx, _kube(ctx), owner, dict(body.status), int(body.meta.get("generation") or 0)


def reconcile(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Create or patch every child from the spec (server-side apply: idempotent, rolls out changes)."""
    ctx, kube, owner, old, generation = _handling(body, memo)
    try:
        spec = parse_spec(dict(body.spec))
        admit(spec, ctx.settings)
        authority = read_authority(ctx.settings)  # unreadable: nothing applied (pods would trust no one)
        roots = pod_roots(spec, authority)
        # on each spec change (and operator start), not per timer
        for reason, message in advice(spec, certified=roots is not None):
            kopf.warn(body, reason=reason, message=message)
        check_dependencies(kube, owner, spec)
        apply_children(kube, owner, spec, ctx.settings, roots)
        seen = observe(
            kube,
            owner,
            spec,
            generation,
            old,
            now(),
            capacity_problem(kube, spec),
            ctx.settings.max_response_bytes,
            certifier(ctx.settings, authority),
        )
        _publish(body, patch, old, seen.status)
    except OperatorError as exc:
        problem = problem_of(exc)
        _publish(body, patch, old, _problem_status(old, problem, generation))
        raise to_kopf(exc) from exc


def capacity_problem(kube: Kube, spec: LlamaNodeSpec) -> Problem | None:
    """Missing GPUs are reported (Degraded, Event), not retried: the timer sees them appear."""
    try:
        check_capacity(kube, spec)
    except CapacityError as exc:
        return problem_of(exc)
    return None


def _problem_status(old: dict[str, Any], problem: Problem, generation: int) -> dict[str, Any]:
    """A status for a spec that could not be reconciled at all (nothing observable to read)."""
    obs = Observation(
        generation=generation,
        replicas=int(old.get("replicas") or 0),
        selector=str(old.get("selector") or ""),
        endpoint=str(old.get("endpoint") or ""),
        problem=problem,
        certificates=old.get("certificates"),
    )
    return compute_status(obs, old, now())


def observe_timer(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Refresh the status: replicas, init container failures, the swarm as a ready node sees it; and
    the pods' own addresses (``swarm.podServices``)."""
    ctx, kube, owner, old, generation = _handling(body, memo)
    try:
        spec = parse_spec(dict(body.spec))
        admit(spec, ctx.settings)
    except SpecError as exc:
        _publish(body, patch, old, _problem_status(old, problem_of(exc), generation))
        return
    problem, authority = None, None
    try:
        check_dependencies(kube, owner, spec)
        problem = capacity_problem(kube, spec)
    except OperatorError as exc:
        problem = problem_of(exc)
    try:
        authority = read_authority(ctx.settings)  # re-read: a renewed delegation is taken at once
    except AuthorityError as exc:
        problem = problem or problem_of(exc)  # the pods keep the certificates they hold
    try:
        publish_addresses(kube, owner, spec)  # load balancers get their addresses after the apply
    except KubeError as exc:
        log.warning("publishing the pods' addresses of %s/%s: %s", owner.namespace, owner.name, exc)
    try:
        seen = observe(
            kube,
            owner,
            spec,
            generation,
            old,
            now(),
            problem,
            ctx.settings.max_response_bytes,
            certifier(ctx.settings, authority),
        )
    except KubeError as exc:
        log.warning("observing %s/%s: %s", owner.namespace, owner.name, exc)
        return
    _publish(body, patch, old, seen.status)
    if seen.scale is not None and seen.scale.changed:
        patch.spec["replicas"] = seen.scale.replicas
        kopf.info(
            body,
            reason="Scaled",
            message=f"replicas {seen.scale.current} -> {seen.scale.replicas}: {seen.scale.reason}",
        )


def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The pod's service account in a cluster, else the local kubeconfig (kopf's own readers).

    kopf only pre-registers its login handlers on its global registry; ours is explicit, so it needs one.
    """
    info: kopf.ConnectionInfo | None = kopf.login_with_service_account(**kwargs)
    return info or kopf.login_with_kubeconfig(**kwargs)


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Every handler on ``registry`` (explicit, so the timer's interval comes from the settings)."""
    kopf.on.startup(registry=registry)(configure)
    kopf.on.login(registry=registry)(login)
    resource = (GROUP, VERSION, PLURAL)
    for on in (kopf.on.create, kopf.on.update, kopf.on.resume):
        on(*resource, registry=registry, id="reconcile")(reconcile)
    kopf.timer(
        *resource, registry=registry, id="observe", interval=settings.observe_interval, initial_delay=5
    )(observe_timer)
