"""`explain`: per check, its inputs, why the last run replayed or reran it, and what a run would do now.

Nothing is executed and nothing is written: selectors are evaluated (they decide the inputs) and each
check is looked up in the result store exactly as `run` would look it up.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.text import Text

from hie_tasks.cli.common import EXIT_FAILED, EXIT_OK, console, error_console, print_diagnostics, resolve_spec
from hie_tasks.cli.loading import load_spec_or_exit
from hie_tasks.engine.project import ProjectOptions
from hie_tasks.engine.runner import check_key, fingerprint_parts
from hie_tasks.incremental.session import REPLAYED


def _now(reason: str) -> str:
    if reason == REPLAYED:
        return "would replay: inputs unchanged"
    return reason.replace("reran:", "would rerun:", 1)


def run(args: argparse.Namespace) -> int:
    spec_path = resolve_spec(args.file)
    options = ProjectOptions(
        workspace=args.workspace, cache_dir=args.cache_dir, module_cache_dir=args.module_cache,
        element_filter=args.filter,
    )
    spec, project = load_spec_or_exit(spec_path, None, args.format == "json", options)
    with project:
        if any(d.is_error for d in spec.diagnostics):
            print_diagnostics(error_console(), spec.diagnostics, spec.sources)
            return EXIT_FAILED
        plan = project.plan(spec)
        session = project.session()
        entries: list[dict[str, Any]] = []
        for planned in plan.checks:
            if planned.skipped:
                continue
            key = check_key(planned)
            entry: dict[str, Any] = {
                "element": planned.element, "check": planned.text,
                "file": planned.span.file, "line": planned.span.line,
            }
            last = session.last_run_reason(key)
            entry["last_run"] = last[0] if last else None
            if planned.error is not None or planned.library is None:
                entry["now"] = f"error before running: {planned.error}"
                entry["inputs"] = {}
            else:
                session.lookup(key, fingerprint_parts(planned, project.workspace), planned.library.purity())
                entry["now"] = _now(session.reason(key))
                entry["inputs"] = session.inputs(key) or (last[1] if last else {})
            entries.append(entry)
    if args.format == "json":
        print(json.dumps({"version": "1.0", "checks": entries}, indent=2, ensure_ascii=False))
        return EXIT_OK
    out = console()
    for e in entries:
        out.print(Text(f"{e['element']} :: {e['check']}", style="bold"), Text(f"  ({e['file']}:{e['line']})", style="dim"))
        out.print(f"  last run: {e['last_run'] or 'no run recorded'}")
        out.print(f"  now:      {e['now']}")
        if e["inputs"]:
            out.print("  inputs:")
            width = max(len(name) for name in e["inputs"])
            for name, digest in sorted(e["inputs"].items()):
                out.print(Text(f"    {name.ljust(width)}  {digest[:16]}", style="dim"))
    return EXIT_OK


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("explain", help="show each check's inputs and why it reran or was replayed")
    p.add_argument("file", nargs="?", help="the .hie spec (default: ./hielements.hie)")
    p.add_argument("-w", "--workspace", help="workspace root (default: the spec file's directory)")
    p.add_argument("-f", "--format", choices=["human", "json"], default="human")
    p.add_argument("--filter", help="only checks of elements whose path contains this text")
    p.add_argument("--cache-dir", help="result store directory (default: $HIE_TASKS_CACHE_DIR or WS/.hie-cache)")
    p.add_argument("--module-cache", help="compiled-module cache directory")
    p.set_defaults(func=run)
