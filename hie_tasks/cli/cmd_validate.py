"""`validate` (upstream: `check`): parse and validate a spec without running anything."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from rich.text import Text

from hie_tasks.cli.common import (
    COLOR_CHOICES,
    EXIT_FAILED,
    EXIT_OK,
    check_workspace,
    console,
    print_diagnostics,
    set_color,
)
from hie_tasks.cli.loading import load_spec_or_exit
from hie_tasks.diagnostics import Diagnostic
from hie_tasks.output.human import plural


def validation_json(errors: list[Diagnostic], warnings: list[Diagnostic]) -> dict[str, Any]:
    return {
        "version": "1.0",
        "status": "error" if errors else "ok",
        "errors": [d.to_json() for d in errors],
        "warnings": [d.to_json() for d in warnings],
        "summary": {"total_errors": len(errors), "total_warnings": len(warnings)},
    }


def run(args: argparse.Namespace) -> int:
    # Upstream's `check` reads ./hielements.toml of the current directory; `-w` chooses another workspace.
    set_color(getattr(args, "color", "auto"))
    check_workspace(args.workspace)
    workspace = os.path.abspath(args.workspace or ".")
    # `hie-tasks validate` takes several files (pre-commit passes every changed .hie); one report covers all.
    files: list[str] = args.file if isinstance(args.file, list) else [args.file]
    out = console()
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    for file in files:
        spec, project = load_spec_or_exit(file, workspace, args.format == "json",
                                          calls="warnings" if args.upstream else "errors", validating=True)
        project.close()
        file_errors = [d for d in spec.diagnostics if d.is_error]
        file_warnings = [d for d in spec.diagnostics if not d.is_error]
        errors += file_errors
        warnings += file_warnings
        if args.format == "json":
            continue
        print_diagnostics(out, spec.diagnostics, spec.sources)
        if file_errors:
            out.print(Text(f"✗ {file}: {plural(len(file_errors), 'error')}, {plural(len(file_warnings), 'warning')}",
                           style="bold red"))
        else:
            note = f" ({plural(len(file_warnings), 'warning')})" if file_warnings else ""
            out.print(Text(f"✓ {file} is valid{note}", style="bold green"))
    if args.format == "json":
        print(json.dumps(validation_json(errors, warnings), indent=2, ensure_ascii=False))
    return EXIT_FAILED if errors else EXIT_OK


def add_parser(subparsers: Any, name: str = "validate") -> None:
    p = subparsers.add_parser(name, help="parse and validate a specification (no checks run)")
    # upstream's `check` takes exactly one file; our `validate` any number
    p.add_argument("file", nargs=None if name == "check" else "+", help="the .hie file(s) or directories of them")
    p.add_argument("-f", "--format", choices=["human", "json"], default="human", metavar="FORMAT",
                   help="human or json (upstream's shape; default: human)")
    p.add_argument("-w", "--workspace", help="workspace whose hielements.toml names the libraries (default: .)")
    if name != "check":
        p.add_argument("--color", choices=COLOR_CHOICES, default="auto", help="auto (default), always, never")
    p.set_defaults(func=run, upstream=name == "check")
