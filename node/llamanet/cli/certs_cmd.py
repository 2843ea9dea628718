"""``llamanet swarm authority create|show`` and ``llamanet swarm cert issue``: swarm authority keys and the
membership certificates they sign (``llamanet_common.certs``; docs/security.md "Mode 4")."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from llamanet.settings import Settings
from llamanet_common.certs import (
    ANY,
    MAX_CHAIN,
    Role,
    issue_certificate,
    parse_authorities,
    parse_chain,
    verify_chain,
)
from llamanet_common.errors import MalformedCertError
from llamanet_common.identity import NodeIdentity

NODE_HOURS, AUTHORITY_DAYS = 24, 30


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "swarm",
        help="swarm authority keys and membership certificates",
        description="Make swarm authority keys and issue the membership certificates nodes carry in their "
        "records (--swarm-cert-file); nodes started with --swarm-authority KEY list, route to and take "
        "forwarded work from certified nodes only.",
    )
    ssub = p.add_subparsers(dest="swarm_command", required=True, metavar="{authority,cert,pubkey}")
    a = ssub.add_parser("authority", help="swarm authority keys", description="Swarm authority keys.")
    asub = a.add_subparsers(dest="authority_command", required=True, metavar="{create}")
    ac = asub.add_parser(
        "create",
        help="make a new Ed25519 authority key; prints its public key",
        description="Write a new Ed25519 authority key (PEM, mode 0600) to --out and print its public key "
        "(hex): the value of --swarm-authority on every node that trusts it. Refuses to overwrite a file.",
    )
    ac.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the private key")
    ac.set_defaults(handler=run_create)

    k = ssub.add_parser(
        "pubkey",
        help="print the public key of a key file",
        description="Print the public key (hex) of an Ed25519 key file: an authority key, or a node's "
        "--node-key-file (the --subject of its certificate).",
    )
    k.add_argument("key", type=Path, metavar="FILE")
    k.set_defaults(handler=run_pubkey)

    c = ssub.add_parser("cert", help="membership certificates", description="Membership certificates.")
    csub = c.add_subparsers(dest="cert_command", required=True, metavar="{issue}")
    ci = csub.add_parser(
        "issue",
        help="sign a certificate for a node key (or delegate to a site authority)",
        description="Sign a certificate with --authority-key for the public key --subject and write the "
        "chain (the new certificate first, then --issuer-chain's) as JSON to --out, replacing it atomically "
        "(a node re-reads its --swarm-cert-file every heartbeat). With --authority-subject the subject is "
        "a site authority that may certify nodes within this certificate's models, sites and validity.",
    )
    ci.add_argument("--authority-key", type=Path, required=True, metavar="FILE", help="the issuing key")
    ci.add_argument("--subject", required=True, metavar="PUBKEY_HEX", help="the certified public key (hex)")
    ci.add_argument(
        "--models", default=ANY, help="models the subject may serve, comma-separated (default *: any)"
    )
    ci.add_argument(
        "--site",
        dest="cert_sites",
        default=ANY,
        metavar="SITE",
        help="site(s), comma-separated (default *: any)",
    )
    span = ci.add_mutually_exclusive_group()
    span.add_argument(
        "--days",
        type=float,
        help=f"validity in days (default: node {NODE_HOURS} h, authority {AUTHORITY_DAYS} d)",
    )
    span.add_argument("--hours", type=float, help="validity in hours")
    ci.add_argument(
        "--authority-subject", action="store_true", help="the subject is a site authority (a delegation)"
    )
    ci.add_argument(
        "--issuer-chain",
        type=Path,
        metavar="FILE",
        help="the issuing key's own chain (a site authority's delegation), appended after the new one; "
        "the new certificate ends no later than it",
    )
    ci.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the chain (JSON)")
    ci.set_defaults(handler=run_issue)


def _load_key(path: Path) -> NodeIdentity:
    return NodeIdentity.load(path)


def run_create(_: Settings, args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        print(f"llamanet swarm authority create: {out} exists; not overwriting it", file=sys.stderr)
        return 1
    key = NodeIdentity.load_or_create(out)
    print(
        f"authority key written to {out}; trust it with --swarm-authority {key.public_key_hex}",
        file=sys.stderr,
    )
    print(key.public_key_hex)
    return 0


def run_pubkey(_: Settings, args: argparse.Namespace) -> int:
    print(_load_key(args.key).public_key_hex)
    return 0


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise MalformedCertError("an empty list: give names, or * for any")
    return [ANY] if ANY in names else names


def run_issue(_: Settings, args: argparse.Namespace) -> int:
    issuer = _load_key(args.authority_key)
    keys = parse_authorities(args.subject)
    if len(keys) != 1:
        raise MalformedCertError("--subject takes one public key (hex)")
    subject = next(iter(keys))
    role: Role = "authority" if args.authority_subject else "node"
    if args.days is not None or args.hours is not None:
        seconds = (args.days or 0) * 86400 + (args.hours or 0) * 3600
    else:
        seconds = AUTHORITY_DAYS * 86400 if role == "authority" else NODE_HOURS * 3600
    if seconds <= 0:
        raise MalformedCertError("--days/--hours must be positive")
    issuer_chain = parse_chain(args.issuer_chain.read_bytes()) if args.issuer_chain else []
    if issuer_chain and role == "authority":
        raise MalformedCertError(
            f"a delegated authority cannot delegate again (chains are at most {MAX_CHAIN})"
        )
    now = int(time.time())
    end = min([now + int(seconds), *(int(c["not_after"]) for c in issuer_chain)])
    cert = issue_certificate(
        issuer,
        subject=subject,
        role=role,
        models=_names(args.models),
        sites=_names(args.cert_sites),
        not_before=now,
        not_after=end,
    )
    chain = [cert, *issuer_chain]
    if role == "node":  # what every node will check, but for the root's trust: a widening fails here
        root = chain[-1]["issuer"]
        verify_chain(chain, subject, {root}, now)
    elif issuer_chain == [] and cert["issuer"] == subject:
        raise MalformedCertError("an authority cannot delegate to itself")
    _write_atomic(args.out, json.dumps(chain, indent=2) + "\n")
    what = "delegation to" if role == "authority" else "certificate for"
    until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(cert["not_after"]))
    print(f"{what} {subject[:16]}... valid until {until}, written to {args.out}", file=sys.stderr)
    return 0


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a node re-reading it never sees half a chain."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
