"""`cache info|clean|prune`: show and trim the compiled WASM module cache."""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

from hie_tasks.libraries.wasm.modcache import ModuleCache


def _cache(args: argparse.Namespace) -> ModuleCache:
    return ModuleCache(args.cache_dir)


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def cmd_info(args: argparse.Namespace) -> int:
    cache = _cache(args)
    entries = cache.info()
    if args.format == "json":
        print(json.dumps({"root": cache.root, "entries": [e.to_json() for e in entries]}, indent=2))
        return 0
    total = sum(e.size for e in entries)
    print(f"module cache: {cache.root}")
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {total / 1024 / 1024:.1f} MiB")
    for e in entries:
        print(f"  {e.key[:16]}  {e.size / 1024:8.1f} KiB  last used {_when(e.last_use)}  {e.source_path}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    cache = _cache(args)
    print(f"removed {cache.clean()} cached module(s) from {cache.root}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    if args.max_age_days is None and args.max_size_mb is None:
        print("cache prune: give --max-age-days N and/or --max-size-mb N")
        return 2
    cache = _cache(args)
    print(f"removed {cache.prune(args.max_age_days, args.max_size_mb)} cached module(s) from {cache.root}")
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("cache", help="show or trim the compiled WASM module cache")
    sub = parser.add_subparsers(dest="cache_command", metavar="SUBCOMMAND")
    # A bare `cache` lists what it can do instead of argparse's terse "required" error.
    parser.set_defaults(func=lambda _args: _usage(parser))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache-dir", metavar="DIR", default=None,
                        help="module cache directory (default: $HIE_TASKS_MODULE_CACHE or the user cache dir)")
    info = sub.add_parser("info", parents=[common], help="list cached modules")
    info.add_argument("--format", choices=("human", "json"), default="human")
    info.set_defaults(func=cmd_info)
    sub.add_parser("clean", parents=[common], help="delete every cached module").set_defaults(func=cmd_clean)
    prune = sub.add_parser("prune", parents=[common], help="delete old or excess cached modules")
    prune.add_argument("--max-age-days", type=float, default=None)
    prune.add_argument("--max-size-mb", type=float, default=None)
    prune.set_defaults(func=cmd_prune)
