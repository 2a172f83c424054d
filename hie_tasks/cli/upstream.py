"""`hielements`: a drop-in for the upstream CLI — same sub-commands, flags, exit codes and JSON shapes.

`check` here is upstream's validate-only command. `run` behaves like upstream's: it keeps no result store
in the workspace (hie-tasks' own `run` does), but it uses the same engine, libraries and WASM host.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from hie_tasks.cli import cmd_doc, cmd_init, cmd_parse, cmd_run, cmd_validate
from hie_tasks.cli.main import dispatch
from hie_tasks.version import __version__


def _run(args: argparse.Namespace) -> int:
    return cmd_run.execute(args, upstream=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hielements", description="Hielements specification tool")
    parser.add_argument("--version", action="version", version=f"hielements {__version__} (hie-tasks)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cmd_validate.add_parser(sub, "check")
    run = sub.add_parser("run", help="run the checks of a specification")
    cmd_run.add_run_arguments(run, upstream=True)
    run.set_defaults(func=_run)
    cmd_parse.add_parser(sub)
    cmd_doc.add_parser(sub, upstream=True)
    cmd_init.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
