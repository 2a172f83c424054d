"""What every command shares: user-facing errors, consoles, spec discovery and diagnostic printing."""

from __future__ import annotations

import glob
import os
import sys
from typing import TYPE_CHECKING, TextIO

from hie_tasks.diagnostics import Diagnostic, render

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREADABLE = 2
DEFAULT_SPEC = "hielements.hie"


class CliError(Exception):
    """A problem the user can fix; printed as one clear message, never as a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_UNREADABLE, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.help = help


def console(stream: TextIO | None = None) -> Console:
    # Imported on first use: rich costs ~0.1 s of start-up, and `run -f json` with no problem never prints.
    from rich.console import Console

    # highlight=False: messages contain paths and numbers that rich would otherwise colour at random
    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)


def error_console() -> Console:
    return console(sys.stderr)


def resolve_spec(arg: str | None) -> str:
    """The spec to use: the argument, else ./hielements.hie, else the only *.hie in the current directory."""
    if arg:
        return arg
    if os.path.exists(DEFAULT_SPEC):
        return DEFAULT_SPEC
    candidates = sorted(glob.glob("*.hie"))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise CliError(
            "no specification given and no hielements.hie in the current directory",
            help="pass a spec file (hie-tasks run path/to/spec.hie) or create one with `hie-tasks init NAME`",
        )
    raise CliError(
        f"no specification given and several .hie files here: {', '.join(candidates)}",
        help="name the one to use: hie-tasks run FILE",
    )


def print_diagnostics(out: Console, diags: list[Diagnostic], sources: dict[str, str]) -> None:
    from rich.text import Text

    for d in diags:
        out.print(Text(render(d, sources.get(d.file)), style="red" if d.is_error else "yellow"))
        out.print()


def read_sources(diags: list[Diagnostic]) -> dict[str, str]:
    """Sources for caret rendering of diagnostics in files we did not parse (e.g. hielements.toml)."""
    out: dict[str, str] = {}
    for d in diags:
        if d.file not in out:
            try:
                with open(d.file, encoding="utf-8", errors="replace") as fh:
                    out[d.file] = fh.read()
            except OSError:
                continue
    return out
