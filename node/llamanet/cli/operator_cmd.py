"""``llamanet operator``: run the Kubernetes operator (kopf); ``llamanet_operator`` is imported lazily."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pydantic import ValidationError

from llamanet.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "operator",
        help="run the Kubernetes operator for LlamaNode resources",
        description="Reconcile LlamaNode resources (llamanet.io/v1alpha1) into StatefulSets and Services. "
        "Every option also reads LLAMANET_OPERATOR_<NAME> from the environment.",
    )
    scope = p.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace", dest="op_namespaces", action="append", metavar="NS", help="watch NS (repeatable)"
    )
    scope.add_argument("--all-namespaces", dest="op_all_namespaces", action="store_true", default=None,
                       help="watch every namespace (cluster scope)")  # fmt: skip
    p.add_argument(
        "--liveness",
        dest="op_liveness",
        metavar="URL",
        help="liveness endpoint (http://0.0.0.0:8080/healthz)",
    )
    p.add_argument(
        "--node-image", dest="op_node_image", metavar="IMAGE", help="node image when a LlamaNode names none"
    )
    p.add_argument("--observe-interval", dest="op_observe_interval", type=float, metavar="S",
                   help="seconds between status observations (30)")  # fmt: skip
    p.set_defaults(handler=run)


def run(_: Settings, args: argparse.Namespace) -> int:
    from llamanet_operator.run import run_operator
    from llamanet_operator.settings import OperatorSettings

    given: dict[str, Any] = {
        k.removeprefix("op_"): v for k, v in vars(args).items() if k.startswith("op_") and v is not None
    }
    try:
        settings = OperatorSettings(**given)
    except ValidationError as exc:
        for err in exc.errors():
            print(f"llamanet operator: invalid setting {err['loc']}: {err['msg']}", file=sys.stderr)
        return 2
    run_operator(settings)
    return 0
