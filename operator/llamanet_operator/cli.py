"""The ``llamanet-operator`` command: parse flags, read ``OperatorSettings`` once, run, map errors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

import kopf
from pydantic import ValidationError

from llamanet_common.errors import LlamaNetError
from llamanet_common.version import __version__
from llamanet_operator.run import run_operator
from llamanet_operator.settings import OperatorSettings

PROG = "llamanet-operator"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Reconcile LlamaNode resources (llamanet.io/v1alpha1) into StatefulSets and Services. "
        "Every option also reads LLAMANET_OPERATOR_<NAME> from the environment.",
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
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
    p.add_argument(
        "--node-image-cuda",
        dest="op_node_image_cuda",
        metavar="IMAGE",
        help="node image when a LlamaNode with resources.gpus > 0 names none (<node image>-cuda)",
    )
    p.add_argument("--observe-interval", dest="op_observe_interval", type=float, metavar="S",
                   help="seconds between status observations (30)")  # fmt: skip
    p.add_argument("--log-level", dest="op_log_level", type=str.upper, choices=LOG_LEVELS, metavar="LEVEL",
                   help=f"one of {', '.join(LOG_LEVELS)} (INFO)")  # fmt: skip
    return p


def configure_logging(level: str) -> None:
    """kopf's text format with its object prefix: each line about a LlamaNode names it as
    ``[namespace/name]``, so one operator's logs show which objects it reconciled."""
    kopf.configure(log_format=kopf.LogFormat.FULL, log_prefix=True)
    logging.getLogger().setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    given: dict[str, Any] = {
        k.removeprefix("op_"): v for k, v in vars(args).items() if k.startswith("op_") and v is not None
    }
    try:
        settings = OperatorSettings(**given)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            print(f"{PROG}: invalid setting {where}: {err['msg']}", file=sys.stderr)
        return 2
    level = settings.log_level.upper()
    if level not in LOG_LEVELS:
        print(f"{PROG}: invalid setting log_level: {settings.log_level!r}", file=sys.stderr)
        return 2
    configure_logging(level)
    try:
        run_operator(settings)
    except LlamaNetError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
