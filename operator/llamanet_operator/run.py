"""``run_operator``: kopf's entry point, used by the ``llamanet-operator`` command (``cli``)."""

from __future__ import annotations

import kopf

from llamanet_operator.errors import OperatorError
from llamanet_operator.handlers import Context, register
from llamanet_operator.settings import OperatorSettings


def scope(settings: OperatorSettings) -> tuple[bool, list[str]]:
    """(clusterwide, namespaces): exactly one scope must be chosen.

    Cluster scope with ``exclude_namespaces`` (namespaces another, namespace-scoped release watches)
    becomes one kopf namespace pattern, ``*,!a,!b``: kopf then watches every other namespace, each
    on its own, so the two operators never reconcile the same LlamaNode.
    """
    if settings.all_namespaces and settings.namespaces:
        raise OperatorError("give --namespace or --all-namespaces, not both")
    if not settings.all_namespaces and not settings.namespaces:
        raise OperatorError("give --namespace NS (repeatable) or --all-namespaces")
    if settings.exclude_namespaces and not settings.all_namespaces:
        raise OperatorError("exclude_namespaces only applies with --all-namespaces")
    if settings.exclude_namespaces:
        return False, [",".join(["*", *(f"!{ns}" for ns in settings.exclude_namespaces)])]
    return settings.all_namespaces, list(settings.namespaces)


def run_operator(settings: OperatorSettings) -> None:
    """Run until stopped. Standalone: one operator replica (the chart's Deployment uses Recreate)."""
    clusterwide, namespaces = scope(settings)
    registry = kopf.OperatorRegistry()
    register(registry, settings)
    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=clusterwide,
        namespaces=namespaces,
        liveness_endpoint=settings.liveness,
        memo=kopf.Memo(ctx=Context(settings)),
    )
