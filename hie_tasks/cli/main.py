"""`hie-tasks`: the command line. Each sub-command lives in its own `cmd_*` module."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text

from hie_tasks.cli import (
    cmd_cache,
    cmd_doc,
    cmd_explain,
    cmd_init,
    cmd_parse,
    cmd_plugins,
    cmd_run,
    cmd_validate,
    cmd_watch,
)
from hie_tasks.cli.common import EXIT_UNREADABLE, CliError, error_console
from hie_tasks.version import __version__

DEBUG_ENV = "HIE_TASKS_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hie-tasks",
        description="Run Hielements architecture checks like a build system runs tasks.",
    )
    parser.add_argument("--version", action="version", version=f"hie-tasks {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cmd_run.add_parser(sub, "check", help="run the spec's checks, replaying unchanged verdicts (alias of run)")
    cmd_run.add_parser(sub, "run")
    cmd_validate.add_parser(sub)
    cmd_parse.add_parser(sub)
    cmd_explain.add_parser(sub)
    cmd_watch.add_parser(sub)
    cmd_doc.add_parser(sub)
    cmd_init.add_parser(sub)
    cmd_cache.add_parser(sub)
    cmd_plugins.add_parser(sub)
    return parser


def dispatch(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_UNREADABLE
    return guarded(func, args)


def guarded(func: Callable[[argparse.Namespace], int], args: Any) -> int:
    """Run a command so that user mistakes print one clear message and bugs print a short report."""
    err = error_console()
    try:
        return func(args)
    except CliError as exc:
        err.print(Text(f"error: {exc.message}", style="bold red"))
        if exc.help:
            err.print(Text(f"  help: {exc.help}"))
        return exc.exit_code
    except KeyboardInterrupt:
        err.print(Text("interrupted", style="yellow"))
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly instead of writing to a closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        err.print(Text(f"internal error: {type(exc).__name__}: {exc}", style="bold red"))
        err.print(f"  this is a bug in hie-tasks; rerun with {DEBUG_ENV}=1 for a traceback and report it")
        return 3


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(build_parser(), argv)
