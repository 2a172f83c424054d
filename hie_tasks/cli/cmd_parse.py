"""`parse`: print a spec's syntax tree as JSON (errors to stderr, exit 1)."""

from __future__ import annotations

import argparse
from typing import Any

from hie_tasks.cli.common import EXIT_FAILED, EXIT_OK, CliError, error_console, print_diagnostics
from hie_tasks.lang.parser import parse
from hie_tasks.lang.printer import program_json_text


def run(args: argparse.Namespace) -> int:
    try:
        with open(args.file, encoding="utf-8") as fh:
            source = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.file}: {exc}") from exc
    program, diags = parse(source, args.file)
    errors = [d for d in diags if d.is_error]
    if diags:
        print_diagnostics(error_console(), diags, {args.file: source})
    if errors:
        return EXIT_FAILED
    print(program_json_text(program))
    return EXIT_OK


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("parse", help="print the syntax tree of a .hie file as JSON")
    p.add_argument("file")
    p.set_defaults(func=run)
