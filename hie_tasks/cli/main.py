"""`hie-tasks`: the command line. Each sub-command lives in its own `cmd_*` module.

Start-up time is part of every run (a no-op `run` is mostly start-up), so a sub-command module — with its
heavy dependencies: wasmtime, watchdog, rich's progress bars — is imported only when it is the command being
run, or when the whole command list is needed (`--help`, no or an unknown command).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from hie_tasks.cli.common import EXIT_UNREADABLE, CliError, error_console
from hie_tasks.version import __version__

DEBUG_ENV = "HIE_TASKS_DEBUG"

#: The sub-commands in `--help` order: name → (module under hie_tasks.cli, extra add_parser arguments).
_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "check": ("cmd_run", ("check", "run the spec's checks, replaying unchanged verdicts (alias of run)")),
    "run": ("cmd_run", ("run",)),
    "validate": ("cmd_validate", ()),
    "parse": ("cmd_parse", ()),
    "merge": ("cmd_merge", ()),
    "explain": ("cmd_explain", ()),
    "watch": ("cmd_watch", ()),
    "daemon": ("cmd_daemon", ()),
    "doc": ("cmd_doc", ()),
    "init": ("cmd_init", ()),
    "cache": ("cmd_cache", ()),
    "plugins": ("cmd_plugins", ()),
}


def _register(sub: Any, name: str) -> None:
    module_name, extra = _COMMANDS[name]
    module = importlib.import_module(f"hie_tasks.cli.{module_name}")
    module.add_parser(sub, *extra)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: only its sub-command when argv starts with a known one, else all of them."""
    parser = argparse.ArgumentParser(
        prog="hie-tasks",
        description="Run Hielements architecture checks like a build system runs tasks.",
    )
    parser.add_argument("--version", action="version", version=f"hie-tasks {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only argv[0] may select: any earlier token is a top-level option (-h, --version) that needs the full list.
    first = argv[0] if argv else None
    for name in [first] if first in _COMMANDS else list(_COMMANDS):
        _register(sub, name)
    return parser


def dispatch(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_UNREADABLE
    return guarded(func, args)


def _terminate(signum: int, _frame: object) -> None:
    # SIGTERM (CI cancelling a job, `timeout`, a process manager) unwinds like Ctrl-C, so `with` blocks close
    # the result store and stop plugin processes instead of leaving them running.
    raise SystemExit(128 + signum)


def guarded(func: Callable[[argparse.Namespace], int], args: Any) -> int:
    """Run a command so that user mistakes print one clear message and bugs print a short report."""
    try:
        signal.signal(signal.SIGTERM, _terminate)
    except ValueError:
        pass  # not the main thread (an embedding program): leave its signal handling alone
    try:
        return func(args)
    except CliError as exc:
        _say(f"error: {exc.message}", "bold red")
        if exc.help:
            _say(f"  help: {exc.help}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("interrupted", "yellow")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly instead of writing to a closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        _say(f"internal error: {type(exc).__name__}: {exc}", "bold red")
        error_console().print(f"  this is a bug in hie-tasks; rerun with {DEBUG_ENV}=1 for a traceback and report it")
        return 3


def _say(message: str, style: str = "") -> None:
    # rich is imported only on this (error) path: a successful run never needs it.
    from rich.text import Text

    error_console().print(Text(message, style=style))


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    return dispatch(build_parser(args), args)
