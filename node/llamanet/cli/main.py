"""Entry point of the ``llamanet`` command: parse, read settings once, dispatch, map errors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from llamanet.cli import certs_cmd, check_cmd, models_cmd, node_cmd, swarm_cmd
from llamanet.settings import Settings
from llamanet_common.errors import LlamaNetError
from llamanet_common.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llamanet", description="LlamaNet: decentralized llama.cpp swarm")
    parser.add_argument("--version", action="version", version=f"llamanet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    node_cmd.add_parser(sub)
    models_cmd.add_parser(sub)
    swarm_cmd.add_parser(sub)
    check_cmd.add_parser(sub)
    certs_cmd.add_parser(sub)
    return parser


# secrets given as flags: visible to every local user in `ps` and /proc/PID/cmdline
SECRET_FLAGS = {
    "api_key": ("--api-key", "--api-key-file FILE (API_KEY_FILE) or API_KEY"),
    "swarm_secret": ("--swarm-secret", "--swarm-secret-file FILE (SWARM_SECRET_FILE) or SWARM_SECRET"),
}


def secret_flag_warnings(args: argparse.Namespace) -> list[str]:
    return [
        f"llamanet: warning: {flag} on the command line is visible to every local user (ps); use {better}"
        for dest, (flag, better) in SECRET_FLAGS.items()
        if getattr(args, dest, None) is not None
    ]


def settings_from(args: argparse.Namespace) -> Settings:
    fields = Settings.model_fields
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    return Settings(**given)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for warning in secret_flag_warnings(args):
        print(warning, file=sys.stderr)
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            print(f"llamanet: invalid setting {where}: {err['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level != "DEBUG":  # the DHT libraries log every RPC at INFO
        for noisy in ("kademlia", "rpcudp", "llama.cpp"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        code: int = args.handler(settings, args)
    except LlamaNetError as exc:
        print(f"llamanet: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
