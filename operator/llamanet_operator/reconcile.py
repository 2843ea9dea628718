"""One reconcile pass (spec -> children) and one observation pass (cluster -> status, autoscaling, the
pods' membership certificates).

Decisions come from the pure modules; ``Kube`` does the I/O. Problems are raised as operator errors
(``SpecError``, ``DependencyError``, ``CapacityError``, ``KubeError``) for ``handlers`` to map.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from llamanet_common.errors import CertError
from llamanet_operator.authority import Authority, authority_problem, pod_roots, pod_scope, scope_problem
from llamanet_operator.autoscale import Decision, decide
from llamanet_operator.certificates import Wanted, certified, certs_config_map, plan_certificates
from llamanet_operator.errors import AuthorityError, CapacityError, DependencyError
from llamanet_operator.kube import Kube
from llamanet_operator.names import (
    HTTP_PORT,
    Owner,
    advertise_config_name,
    certs_config_name,
    dht_service_name,
    endpoint_url,
    headless_domain,
    selector_string,
)
from llamanet_operator.observe import missing_mount, pull_failures, ready_pod_names, swarm_summary
from llamanet_operator.podservices import (
    advertise_config_map,
    advertised_addresses,
    pod_service_selector,
    pod_services,
    stale_pod_services,
)
from llamanet_operator.policy import Policy, default_image, enforce
from llamanet_operator.scrape import NodeSample, parse_metrics
from llamanet_operator.services import client_service, dht_service, headless_service, pod_disruption_budget
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import LlamaNodeSpec
from llamanet_operator.statefulset import build_statefulset
from llamanet_operator.status import Observation, Problem, compute_status

log = logging.getLogger(__name__)
SCOPE_REASON = "CertificateScope"  # the LlamaNode's model or site is outside the authority's delegation


def desired_children(
    owner: Owner, spec: LlamaNodeSpec, settings: OperatorSettings, roots: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Every child the spec alone determines, in order (Services first: pods resolve their peers from
    the start). With ``swarm.podServices`` one Service per replica replaces the shared DHT Service.
    ``roots``: the swarm authority keys the pods trust (``authority.pod_roots``)."""
    per_pod = spec.swarm.pod_services is not None
    children = [
        headless_service(owner),
        client_service(owner, spec),
        *(pod_services(owner, spec) if per_pod else [dht_service(owner, spec)]),
        build_statefulset(owner, spec, default_image(spec, settings), roots),
    ]
    pdb = pod_disruption_budget(owner, spec)
    return children + ([pdb] if pdb is not None else [])


def publish_addresses(kube: Kube, owner: Owner, spec: LlamaNodeSpec) -> dict[str, str]:
    """Delete the per-pod Services of ordinals ``>= replicas``; publish the others' addresses (assigned
    NodePorts, load balancer addresses once assigned) in the ConfigMap the pods mount."""
    observed = kube.services(owner.namespace, pod_service_selector(owner))
    for name in stale_pod_services(observed, spec):
        kube.delete("v1", "Service", owner.namespace, name)
    if spec.swarm.pod_services is None:
        if observed:  # podServices just turned off (otherwise there is nothing to clean up)
            kube.delete("v1", "ConfigMap", owner.namespace, advertise_config_name(owner))
        return {}
    addresses = advertised_addresses(owner, spec, observed)
    kube.apply(advertise_config_map(owner, addresses))
    return addresses


def check_dependencies(kube: Kube, owner: Owner, spec: LlamaNodeSpec) -> None:
    """PVCs the spec names exist (without them no pod could start: nothing is applied).

    Secrets are not read: the pods mount them, so a missing one keeps the pods in ContainerCreating and
    ``observe`` reports it from the kubelet's FailedMount Events; the operator needs no Secret access.
    """
    pvc = spec.model.source.pvc
    if pvc is not None and not kube.pvc_exists(owner.namespace, pvc.claim_name):
        raise DependencyError(f"model.source.pvc: PersistentVolumeClaim {pvc.claim_name!r} not found")


def admit(spec: LlamaNodeSpec, settings: OperatorSettings) -> None:
    """The operator's policy (``PolicyError``, permanent, when the spec asks for too much)."""
    enforce(spec, Policy.from_settings(settings))


def check_capacity(kube: Kube, spec: LlamaNodeSpec) -> None:
    """Some node offers the GPUs asked for. Checked after applying: the pods then wait, unscheduled,
    and the scheduler places them as soon as a node advertises the GPUs (or an autoscaler adds one)."""
    if spec.resources.gpus > 0:
        offered = kube.max_node_gpus()
        if offered < spec.resources.gpus:
            raise CapacityError(
                f"resources.gpus is {spec.resources.gpus} but no node offers more than {offered} "
                "allocatable nvidia.com/gpu; the pods stay unscheduled until a node does"
            )


def apply_children(
    kube: Kube,
    owner: Owner,
    spec: LlamaNodeSpec,
    settings: OperatorSettings,
    roots: frozenset[str] | None = None,
) -> None:
    for child in desired_children(owner, spec, settings, roots):
        if child["kind"] == "StatefulSet":
            publish_addresses(kube, owner, spec)  # before new pods mount them
        kube.apply(child)
    if pod_disruption_budget(owner, spec) is None:
        kube.delete("policy/v1", "PodDisruptionBudget", owner.namespace, owner.name)
    if spec.swarm.pod_services is not None:
        kube.delete("v1", "Service", owner.namespace, dht_service_name(owner))


def samples(kube: Kube, owner: Owner, pods: list[dict[str, Any]], max_bytes: int) -> dict[str, NodeSample]:
    """Each ready pod's ``/metrics`` (open without the API key), size-capped, by pod name; pods that fail
    are left out."""
    out = {}
    for pod in ready_pod_names(pods):
        text = kube.get_text(f"http://{pod}.{headless_domain(owner)}:{HTTP_PORT}/metrics", max_bytes)
        sample = parse_metrics(text) if text is not None else None
        if sample is not None:
            out[pod] = sample
    return out


@dataclass(frozen=True)
class Certifier:
    """The operator's swarm authority for one observation: ``authority`` None when it is configured but
    could not be read (the caller reports why)."""

    authority: Authority | None
    lifetime_s: int
    now: float


def publish_certificates(
    kube: Kube,
    owner: Owner,
    spec: LlamaNodeSpec,
    certifier: Certifier,
    pods: list[dict[str, Any]],
    found: dict[str, NodeSample],
) -> Problem | None:
    """Issue, renew and drop the pods' certificates (``certificates``) in ConfigMap ``<name>-certs``;
    the problem when the authority cannot certify these pods."""
    now, roots = certifier.now, pod_roots(spec, certifier.authority)
    assert certifier.authority is not None and roots is not None
    authority = replace(certifier.authority, roots=roots)  # chains must verify as these pods check them
    if (why := authority_problem(authority, now)) is not None:
        return Problem(AuthorityError.reason, why)
    if (why := scope_problem(spec, authority)) is not None:
        return Problem(SCOPE_REASON, why)
    models, sites = pod_scope(spec, authority)
    wanted = Wanted(authority, models, sites, certifier.lifetime_s)
    keys = {pod: s.public_key for pod, s in found.items() if s.public_key is not None}
    existing = kube.config_map_data(owner.namespace, certs_config_name(owner))
    try:
        plan = plan_certificates(wanted, keys, [p["metadata"]["name"] for p in pods], existing or {}, now)
    except CertError as exc:
        return Problem(AuthorityError.reason, f"issuing the pods' certificates: {exc}")
    if plan.data != existing:
        kube.apply(certs_config_map(owner, plan.data))
    if plan.issued:
        log.info("certified %s of %s/%s", ", ".join(plan.issued), owner.namespace, owner.name)
    return None


@dataclass(frozen=True)
class Observed:
    status: dict[str, Any]
    scale: Decision | None  # the autoscaler's, with spec.autoscaling


def observe(
    kube: Kube,
    owner: Owner,
    spec: LlamaNodeSpec,
    generation: int,
    old_status: dict[str, Any] | None,
    now: str,
    problem: Problem | None = None,
    max_bytes: int = 1024 * 1024,
    certifier: Certifier | None = None,
) -> Observed:
    """The status from the StatefulSet, its pods and their ``/metrics``; the autoscaler's decision; with
    a ``certifier`` (the operator has a swarm authority) the pods' certificates, issued and counted."""
    selector = selector_string(owner)
    pods = kube.pods(owner.namespace, selector)
    by_pod = samples(kube, owner, pods, max_bytes)
    found = list(by_pod.values())
    if problem is None:
        mount = missing_mount(kube.mount_failures(owner.namespace), {p["metadata"]["name"] for p in pods})
        if mount is not None:
            problem = Problem(DependencyError.reason, f"a Secret the spec names is missing: {mount}")
    certificates = None
    if certifier is not None and spec.swarm.authority.enabled:
        certificates = f"{certified([s.cert_not_after for s in found], certifier.now)}/{spec.replicas}"
        if certifier.authority is not None:
            cert_problem = publish_certificates(kube, owner, spec, certifier, pods, by_pod)
            problem = problem or cert_problem
    obs = Observation(
        generation=generation,
        replicas=spec.replicas,
        selector=selector,
        endpoint=endpoint_url(owner, spec),
        statefulset=kube.statefulset_status(owner.namespace, owner.name),
        pull_failures=pull_failures(pods),
        swarm=swarm_summary(found),
        problem=problem,
        queue_depth=sum(s.queue_depth for s in found) if found else None,
        certificates=certificates,
    )
    status = compute_status(obs, old_status, now)
    scale = None
    if spec.autoscaling is not None:
        old_auto = (old_status or {}).get("autoscaling")
        scale = decide(spec.autoscaling, spec.replicas, found, old_auto, now)
        status["autoscaling"] = scale.as_status(now, old_auto)
    else:
        status["autoscaling"] = None  # a merge patch: removes an old decision
    return Observed(status, scale)
