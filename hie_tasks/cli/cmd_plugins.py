"""`plugins build DIR [-o OUT]`, `plugins new NAME --lang c|zig|rust [-d DIR]` (and `plugins inspect`)."""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from hie_tasks.cli.common import CliError
from hie_tasks.plugins_dev.build import LANGS, BuildError, BuildResult, build_plugin, load_plugin_source
from hie_tasks.plugins_dev.scaffold import new_plugin

#: While a first C/Zig build runs, a line every this many seconds says it is still going.
_PROGRESS_EVERY_S = 5.0


def _zig_marker() -> Path | None:
    """A file that exists once a C/Zig build succeeded with this ziglang version: zig then has its wasm32-wasi
    C library in its own cache, and builds take seconds instead of the first build's 25–45 s."""
    try:
        version = metadata.version("ziglang")
    except metadata.PackageNotFoundError:
        return None
    import platformdirs

    return Path(platformdirs.user_cache_dir("hie-tasks")) / f"zig-{version}-wasi-libc.built"


def _build_with_progress(args: argparse.Namespace) -> BuildResult:
    """The build, saying what happens when zig first builds its C library, with elapsed time on stderr."""
    try:
        lang = load_plugin_source(args.dir).lang
    except BuildError:
        lang = ""
    marker = _zig_marker() if lang in ("c", "zig") else None
    if marker is None or marker.exists():
        return build_plugin(args.dir, args.output, release=not args.debug)
    err = sys.stderr
    err.write("first C/Zig build with this zig: zig builds its wasm32-wasi C library once, which takes "
              "25–45 s (later builds take seconds)\n")
    err.flush()
    results: list[BuildResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(build_plugin(args.dir, args.output, release=not args.debug))
        except BaseException as exc:  # handed to the main thread, which raises it
            errors.append(exc)

    thread = threading.Thread(target=work, name="plugin-build", daemon=True)
    started = time.monotonic()
    thread.start()
    while thread.is_alive():
        thread.join(_PROGRESS_EVERY_S)
        if thread.is_alive():
            err.write(f"  building… {time.monotonic() - started:.0f} s\n")
            err.flush()
    if errors:
        raise errors[0]
    result = results[0]
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # the note repeats next time; the build itself is done
    return result


def run_build(args: argparse.Namespace) -> int:
    try:
        result = _build_with_progress(args)
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
    print(f"created {folder}\nnext: hie-tasks plugins build {folder}\n"
          f"then: add {folder}/hielements.toml.example to your hielements.toml")
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
