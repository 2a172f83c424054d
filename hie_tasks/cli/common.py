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
#: Nothing was selected (`--filter` matching no element), as pytest exits when it collected nothing.
EXIT_NOTHING_SELECTED = 5
DEFAULT_SPEC = "hielements.hie"
#: How the default spec is found, for every command's help and messages.
DEFAULT_SPEC_RULE = "default: ./hielements.hie, else the only *.hie in the current directory"
COLOR_CHOICES = ("auto", "always", "never")
_color = "auto"


class CliError(Exception):
    """A problem the user can fix; printed as one clear message, never as a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_UNREADABLE, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.help = help


def set_color(mode: str) -> None:
    """`--color auto|always|never`. `auto` colours a terminal unless `NO_COLOR` is set (https://no-color.org);
    an explicit `always` wins over `NO_COLOR`, as that convention asks of command-line flags."""
    global _color
    _color = mode


def _color_mode() -> str:
    if _color == "auto":
        from hie_tasks.output.consoles import auto_mode

        return auto_mode(os.environ.get("NO_COLOR"))
    return _color


def console(stream: TextIO | None = None) -> Console:
    from hie_tasks.output.consoles import make_console

    return make_console(stream or sys.stdout, _color_mode())


def plain_console(stream: TextIO) -> Console:
    """A console writing plain text (no escapes, no terminal size) into a file, for `-o` reports."""
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=True, color_system=None, force_terminal=False,
                   width=200, height=10**6)


def check_workspace(workspace: str | None) -> None:
    """`-w` must name an existing directory: a typo must not create a store in a new folder."""
    if workspace is None:
        return
    if not os.path.exists(workspace):
        raise CliError(f"workspace {workspace} does not exist",
                       help="pass an existing directory with -w (default: the spec file's directory)")
    if not os.path.isdir(workspace):
        raise CliError(f"workspace {workspace} does not exist as a directory (it is a file)",
                       help="pass the directory to check with -w, and the spec as the FILE argument")


def check_output_path(path: str | None) -> None:
    """`-o` must name a writable place before anything runs, so a long run never ends in a lost report."""
    if path is None:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CliError(f"cannot write the report to {path}: it is a directory", help="-o takes a file name")
    if not os.path.isdir(parent):
        raise CliError(f"cannot write the report to {path}: directory {parent} does not exist",
                       help="create the directory first, or choose another -o path")
    if not os.access(parent, os.W_OK):
        raise CliError(f"cannot write the report to {path}: directory {parent} is not writable")


def write_output(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise CliError(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def error_console() -> Console:
    return console(sys.stderr)


def print_late_warnings(warnings: list[str]) -> None:
    """Warnings that arose while checks ran (a stored result that did not verify, a store that failed),
    after the results."""
    if not warnings:
        return
    from rich.text import Text

    for warning in warnings:
        error_console().print(Text(warning, style="yellow"))


def resolve_spec(arg: str | None) -> str:
    """The spec to use: the argument, else ./hielements.hie, else the only *.hie in the current directory
    (`DEFAULT_SPEC_RULE`)."""
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
        help="name the one to use: hie-tasks run FILE (in a pre-commit hook: `args: [FILE]`), "
             "or name the main one hielements.hie",
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
