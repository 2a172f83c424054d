"""`plugins build DIR [-o OUT]`, `plugins new NAME --lang c|zig|rust [-d DIR]` (and `plugins inspect`)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from hie_tasks.cli.common import CliError
from hie_tasks.plugins_dev.build import LANGS, BuildError, build_plugin
from hie_tasks.plugins_dev.scaffold import new_plugin


def run_build(args: argparse.Namespace) -> int:
    try:
        result = build_plugin(args.dir, args.output, release=not args.debug)
    except BuildError as exc:
        raise CliError(str(exc)) from None
    state = f"built in {result.seconds:.2f} s" if result.rebuilt else "up to date"
    print(f"{result.output} ({result.lang}, {state})")
    return 0


def run_new(args: argparse.Namespace) -> int:
    try:
        folder = new_plugin(args.name, args.lang, args.dir)
    except BuildError as exc:
        raise CliError(str(exc)) from None
    print(f"created {folder}\nnext: hie-tasks plugins build {folder}")
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("plugins", help="build, create and inspect WebAssembly plugins")
    sub = parser.add_subparsers(dest="plugins_command", metavar="SUBCOMMAND")
    # A bare `plugins` lists what it can do instead of argparse's terse "required" error.
    parser.set_defaults(func=lambda _args: _usage(parser))

    build = sub.add_parser("build", help="compile a plugin folder (C, Zig or Rust) to a .wasm module")
    build.add_argument("dir", metavar="DIR")
    build.add_argument("-o", "--output", metavar="OUT", help="output file (default DIR/build/NAME.wasm)")
    build.add_argument("--debug", action="store_true", help="unoptimised build with debug info")
    build.set_defaults(func=run_build)

    new = sub.add_parser("new", help="create a ready-to-build plugin from a template")
    new.add_argument("name", metavar="NAME")
    new.add_argument("--lang", choices=LANGS, required=True)
    new.add_argument("-d", "--dir", default=".", help="parent folder (default: current directory)")
    new.set_defaults(func=run_new)

    # `plugins inspect` lives in its own module; mount it when that module is part of this build.
    try:
        inspect_cmd = importlib.import_module("hie_tasks.cli.cmd_inspect")
    except ImportError:
        return
    inspect_cmd.add_parser(sub)
