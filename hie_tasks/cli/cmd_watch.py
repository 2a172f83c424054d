"""`watch`: run the spec once, then rerun exactly the checks that file changes can affect, until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType
from typing import Any

from hie_tasks.cli.cmd_run import project_options
from hie_tasks.cli.common import (
    COLOR_CHOICES,
    DEFAULT_SPEC_RULE,
    EXIT_OK,
    CliError,
    check_workspace,
    console,
    resolve_spec,
    set_color,
)
from hie_tasks.engine.project import Project, default_workspace
from hie_tasks.watch.events import DEFAULT_MAX_MS, DEFAULT_QUIET_MS, DebounceSettings
from hie_tasks.watch.loop import Watcher
from hie_tasks.watch.report import CycleSink, HumanSink, JsonSink


def _sink(fmt: str) -> CycleSink:
    if fmt == "json":
        return JsonSink(sys.stdout)
    return HumanSink(console())


def check_arguments(args: argparse.Namespace, spec_path: str) -> None:
    if args.jobs < 0:
        raise CliError("--jobs must be a positive number", 2)
    if args.debounce_ms < 0:
        raise CliError("--debounce-ms must be zero or more", 2, help=f"the default is {DEFAULT_QUIET_MS}")
    if not os.path.exists(spec_path):
        raise CliError(f"cannot read {spec_path}: no such file", help="pass an existing .hie spec to watch")
    check_workspace(args.workspace)
    workspace = default_workspace(spec_path, args.workspace)
    if not os.path.isdir(workspace):
        raise CliError(f"workspace {workspace} does not exist", help="pass an existing directory with -w")


def watch(args: argparse.Namespace) -> int:
    set_color(args.color)
    spec_path = resolve_spec(args.file)
    check_arguments(args, spec_path)
    options = project_options(args, upstream=False)
    sink = _sink(args.format)
    debounce = DebounceSettings(quiet_ms=args.debounce_ms, max_ms=max(DEFAULT_MAX_MS, args.debounce_ms))
    watcher = Watcher(lambda: Project(spec_path, options), sink, debounce=debounce)

    from hie_tasks.daemon.server import attach

    def interrupted(signum: int, frame: FrameType | None) -> None:
        # Between cycles Ctrl-C just ends the loop; during one it interrupts the run like Ctrl-C of `run`
        # (the store commits per verdict, plugin processes are stopped), so watching stops within a
        # second at any workspace size instead of after a long cycle.
        watcher.stop()
        if watcher.busy:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupted)
    server = None
    try:
        server = attach(watcher, sink)
        watcher.start()
        if server is not None:
            server.start_serving()
        sink.message(f"watching {watcher.workspace} (Ctrl-C to stop)")
        watcher.run_cycles()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, previous)
        if server is not None:
            server.close()
        watcher.close()
    sink.message("stopped watching")
    return EXIT_OK


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("watch", help="run the checks, then rerun the affected ones whenever files change")
    p.add_argument("file", nargs="?", help=f"the .hie spec ({DEFAULT_SPEC_RULE})")
    p.add_argument("-w", "--workspace", help="workspace root (default: the spec file's directory)")
    p.add_argument("-f", "--format", choices=["human", "json"], default="human", metavar="FORMAT",
                   help="human (default) or json: one object per cycle per line")
    p.add_argument("--color", choices=COLOR_CHOICES, default="auto", help="auto (default), always, never")
    p.add_argument("-j", "--jobs", type=int, default=0, help="checks run in parallel (default: cores)")
    p.add_argument("--debounce-ms", type=int, default=DEFAULT_QUIET_MS,
                   help=f"quiet period that ends a burst of changes (default {DEFAULT_QUIET_MS})")
    p.add_argument("--cache-dir", help="result store directory (default: $HIE_TASKS_CACHE_DIR or WS/.hie-cache)")
    p.add_argument("--module-cache", help="compiled-module cache directory (default: $HIE_TASKS_MODULE_CACHE)")
    # project_options() is shared with `run`; watch always runs the whole spec through the result store.
    p.set_defaults(func=watch, filter=None, limit=None, no_cache=False, refresh=False)
