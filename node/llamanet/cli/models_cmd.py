"""``llamanet models pull|list|path``: the model cache from the command line."""

from __future__ import annotations

import argparse

from llamanet.models.cache import ModelCache
from llamanet.models.catalog import CATALOG
from llamanet.models.pull import pull
from llamanet.models.url_source import DEFAULT_MAX_SIZE
from llamanet.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", help="pull and list models", description="Manage the model cache.")
    p.add_argument("--models-dir", dest="models_dir", default=None, help="cache directory (MODELS_DIR)")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="{pull,list,path}")
    pp = msub.add_parser("pull", help="fetch a catalog model or a GGUF URL into the cache")
    pp.add_argument("spec", metavar="NAME|URL", help=f"one of {', '.join(CATALOG)} or an http(s) URL")
    pp.add_argument("--name", help="cache name for a URL (default: the file name without .gguf)")
    pp.add_argument("--sha256", help="expected sha256 of a URL download (required for URLs)")
    pp.add_argument(
        "--insecure-no-checksum",
        action="store_true",
        help="install a URL download without --sha256 (unverified: anyone on the path could swap it)",
    )
    pp.add_argument(
        "--max-size",
        type=_size,
        default=DEFAULT_MAX_SIZE,
        help="largest URL download, bytes or with K/M/G suffix (default 64G)",
    )
    pp.set_defaults(handler=run_pull)
    pl = msub.add_parser("list", help="list cached models and the catalog")
    pl.set_defaults(handler=run_list)
    pa = msub.add_parser("path", help="print the file path of a cached model")
    pa.add_argument("name")
    pa.set_defaults(handler=run_path)


def _size(text: str) -> int:
    """``123``, ``500M``, ``2G`` ... as bytes (argparse type)."""
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = units.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in units else text
    if not digits.isdigit() or len(digits) > 15:
        raise argparse.ArgumentTypeError(f"not a size: {text[:32]!r}")
    return int(digits) * scale


def run_pull(settings: Settings, args: argparse.Namespace) -> int:
    model = pull(
        args.spec,
        ModelCache(settings.models_dir),
        name=args.name,
        sha256=args.sha256,
        insecure_no_checksum=args.insecure_no_checksum,
        max_size=args.max_size,
    )
    print(model.path)
    return 0


def run_list(settings: Settings, _: argparse.Namespace) -> int:
    cache = ModelCache(settings.models_dir)
    cached = {m.name: m for m in cache.entries()}
    print(f"model cache: {cache.root}")
    print(f"{'NAME':<20} {'STATUS':<10} {'SIZE':>10}  PATH / SOURCE")
    for name in sorted(set(cached) | set(CATALOG)):
        if name in cached:
            m = cached[name]
            print(f"{name:<20} {'cached':<10} {m.size / 1048576:>8.1f}M  {m.path}")
        else:
            c = CATALOG[name]
            print(f"{name:<20} {'available':<10} {c.size / 1048576:>8.1f}M  {c.description}")
    return 0


def run_path(settings: Settings, args: argparse.Namespace) -> int:
    path, _ = ModelCache(settings.models_dir).resolve(args.name)
    print(path)
    return 0
