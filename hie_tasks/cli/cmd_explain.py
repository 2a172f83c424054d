"""`explain`: per check, its inputs, why the last run replayed or reran it, and what a run would do now.

Nothing is executed and nothing is written: selectors are evaluated (they decide the inputs) and each
check is looked up in the result store exactly as `run` would look it up.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from rich.text import Text

from hie_tasks.cli.common import (
    COLOR_CHOICES,
    DEFAULT_SPEC_RULE,
    EXIT_FAILED,
    EXIT_OK,
    check_workspace,
    console,
    error_console,
    print_diagnostics,
    resolve_spec,
    set_color,
)
from hie_tasks.cli.loading import load_spec_or_exit
from hie_tasks.engine.checksites import CheckSite, check_sites, scope_origins
from hie_tasks.engine.project import ProjectOptions
from hie_tasks.engine.runner import check_key, fingerprint_parts
from hie_tasks.incremental.session import REPLAYED
from hie_tasks.model.values import Scope, Value


def _now(reason: str) -> str:
    if reason == REPLAYED:
        return "would replay: inputs unchanged"
    return reason.replace("reran:", "would rerun:", 1)


def _scope_labels(site: CheckSite | None, args: list[Value]) -> list[tuple[str, Scope]]:
    """`scope[i]` (the fingerprint's component name) → what the spec calls it, with the scope itself."""
    if site is None:
        return []
    labels: list[tuple[str, Scope]] = []
    for i, (scope, origin) in enumerate(scope_origins(site, args)):
        if origin is None:
            labels.append((f"scope[{i}]", scope))
        elif origin.name:
            labels.append((origin.text, scope))
        else:
            labels.append((origin.selector, scope))
    return labels


def _rename(text: str, labels: list[tuple[str, Scope]]) -> str:
    for i, (label, _) in reversed(list(enumerate(labels))):
        text = text.replace(f"scope[{i}]", f"scope {label}")
    return text


def run(args: argparse.Namespace) -> int:
    set_color(args.color)
    check_workspace(args.workspace)
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
        sites = check_sites(spec.programs)
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
            labels = _scope_labels(sites.get((planned.element, planned.index)), planned.args)
            entry["scopes"] = [
                {"name": label, "files": len(scope.paths), "paths": list(scope.paths)} for label, scope in labels
            ]
            last = session.last_run_reason(key)
            entry["last_run"] = _rename(last[0], labels) if last else None
            if planned.error is not None or planned.library is None:
                entry["now"] = f"error before running: {planned.error}"
                entry["inputs"] = {}
            else:
                session.lookup(key, fingerprint_parts(planned, project.workspace), planned.library.purity())
                entry["now"] = _rename(_now(session.reason(key)), labels)
                inputs = session.inputs(key) or (last[1] if last else {})
                entry["inputs"] = {_rename(name, labels): digest for name, digest in inputs.items()}
            entries.append(entry)
    if args.format == "json":
        print(json.dumps({"version": "1.0", "checks": entries}, indent=2, ensure_ascii=False))
        return EXIT_OK
    out = console()
    for e in entries:
        out.print(Text(f"{e['element']} :: {e['check']}", style="bold"), Text(f"  ({e['file']}:{e['line']})", style="dim"))
        out.print(f"  last run: {e['last_run'] or 'no run recorded'}", markup=False)
        out.print(f"  now:      {e['now']}", markup=False)
        for scope in e["scopes"]:
            count = scope["files"]
            out.print(f"  scope {scope['name']}: {count} file{'s' * (count != 1)}", markup=False)
            if args.verbose:
                for path in scope["paths"]:
                    out.print(Text(f"    {_shown_path(path, project.workspace)}", style="dim"))
        if e["inputs"]:
            out.print("  inputs:")
            width = max(len(name) for name in e["inputs"])
            for name, digest in sorted(e["inputs"].items()):
                out.print(Text(f"    {name.ljust(width)}  {digest[:16]}", style="dim"))
    return EXIT_OK


def _shown_path(path: str, workspace: str) -> str:
    rel = os.path.relpath(path, workspace) if os.path.isabs(path) else path
    return path if rel.startswith("..") else rel


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("explain", help="show each check's inputs and why it reran or was replayed")
    p.add_argument("file", nargs="?", help=f"the .hie spec ({DEFAULT_SPEC_RULE})")
    p.add_argument("-w", "--workspace", help="workspace root (default: the spec file's directory)")
    p.add_argument("-f", "--format", choices=["human", "json"], default="human")
    p.add_argument("--filter", help="only checks of elements whose path contains this text")
    p.add_argument("--cache-dir", help="result store directory (default: $HIE_TASKS_CACHE_DIR or WS/.hie-cache)")
    p.add_argument("--module-cache", help="compiled-module cache directory")
    p.add_argument("-v", "--verbose", action="store_true", help="list the files of each scope")
    p.add_argument("--color", choices=COLOR_CHOICES, default="auto", help="auto (default), always, never")
    p.set_defaults(func=run)
