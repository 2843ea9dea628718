"""One reconcile pass (spec -> children) and one observation pass (cluster -> status).

Decisions come from the pure modules; ``Kube`` does the I/O. Problems are raised as operator errors
(``SpecError``, ``DependencyError``, ``CapacityError``, ``KubeError``) for ``handlers`` to map.
"""

from __future__ import annotations

from typing import Any

from llamanet_operator.errors import CapacityError, DependencyError
from llamanet_operator.kube import Kube
from llamanet_operator.names import HTTP_PORT, Owner, endpoint_url, headless_domain, selector_string
from llamanet_operator.observe import pull_failures, ready_pod_names, swarm_summary
from llamanet_operator.services import client_service, dht_service, headless_service, pod_disruption_budget
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import LlamaNodeSpec
from llamanet_operator.statefulset import build_statefulset
from llamanet_operator.status import Observation, Problem, compute_status


def desired_children(owner: Owner, spec: LlamaNodeSpec, settings: OperatorSettings) -> list[dict[str, Any]]:
    """Every child to apply, in order (Services first: pods resolve their peers from the start)."""
    children = [
        headless_service(owner),
        client_service(owner, spec),
        dht_service(owner, spec),
        build_statefulset(owner, spec, settings.node_image),
    ]
    pdb = pod_disruption_budget(owner, spec)
    return children + ([pdb] if pdb is not None else [])


def check_dependencies(kube: Kube, owner: Owner, spec: LlamaNodeSpec) -> None:
    """Secrets and PVCs the spec names exist (without them no pod could start: nothing is applied)."""
    refs = [("swarm.secretRef", spec.swarm.secret_ref), ("apiKeySecretRef", spec.api_key_secret_ref)]
    for field, ref in refs:
        if ref is not None and kube.secret_value(owner.namespace, ref.name, ref.key) is None:
            raise DependencyError(f"{field}: Secret {ref.name!r} with key {ref.key!r} not found")
    pvc = spec.model.source.pvc
    if pvc is not None and not kube.pvc_exists(owner.namespace, pvc.claim_name):
        raise DependencyError(f"model.source.pvc: PersistentVolumeClaim {pvc.claim_name!r} not found")


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


def apply_children(kube: Kube, owner: Owner, spec: LlamaNodeSpec, settings: OperatorSettings) -> None:
    for child in desired_children(owner, spec, settings):
        kube.apply(child)
    if pod_disruption_budget(owner, spec) is None:
        kube.delete("policy/v1", "PodDisruptionBudget", owner.namespace, owner.name)


def api_key(kube: Kube, owner: Owner, spec: LlamaNodeSpec) -> str | None:
    ref = spec.api_key_secret_ref
    return kube.secret_value(owner.namespace, ref.name, ref.key) if ref is not None else None


def observe(
    kube: Kube,
    owner: Owner,
    spec: LlamaNodeSpec,
    generation: int,
    old_status: dict[str, Any] | None,
    now: str,
    problem: Problem | None = None,
) -> dict[str, Any]:
    """The status from the StatefulSet, its pods and one ready node's ``/swarm/nodes``."""
    selector = selector_string(owner)
    pods = kube.pods(owner.namespace, selector)
    swarm = None
    for pod in ready_pod_names(pods)[:2]:
        url = f"http://{pod}.{headless_domain(owner)}:{HTTP_PORT}/swarm/nodes"
        swarm = swarm_summary(kube.get_json(url, api_key(kube, owner, spec)))
        if swarm is not None:
            break
    obs = Observation(
        generation=generation,
        replicas=spec.replicas,
        selector=selector,
        endpoint=endpoint_url(owner, spec),
        statefulset=kube.statefulset_status(owner.namespace, owner.name),
        pull_failures=pull_failures(pods),
        swarm=swarm,
        problem=problem,
    )
    return compute_status(obs, old_status, now)
