"""`doc`: the catalog of every registered library's functions, as markdown or JSON."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from hie_tasks.cli.common import EXIT_OK, CliError, check_output_path, check_workspace, write_output
from hie_tasks.cli.loading import config_error_exit
from hie_tasks.config import ConfigError
from hie_tasks.engine.project import Project, ProjectOptions
from hie_tasks.libraries.base import FunctionDoc, Library, LibraryDoc
from hie_tasks.model.errors import LibraryError


def library_doc(library: Library) -> LibraryDoc:
    try:
        return library.documentation()
    except LibraryError as exc:
        return LibraryDoc(library.name, f"Documentation unavailable: {exc.message}", "")


def _function_md(fn: FunctionDoc) -> list[str]:
    lines = [f"#### `{fn.name}`", "", fn.description, ""]
    if fn.parameters:
        lines += ["| Parameter | Type | Description |", "|---|---|---|"]
        lines += [f"| `{p.name}` | `{p.param_type}` | {p.description} |" for p in fn.parameters]
        lines.append("")
    if fn.return_type:
        lines += [f"**Returns:** `{fn.return_type}`", ""]
    if fn.example:
        lines += ["```hielements", fn.example, "```", ""]
    return lines


def markdown(docs: list[LibraryDoc]) -> str:
    lines = ["# Hielements Library Reference", "", "## Table of Contents", ""]
    lines += [f"- [{d.name}](#{d.name.lower()})" for d in docs]
    lines.append("")
    for d in docs:
        lines += [f"## {d.name}", "", d.description, "", f"**Version:** {d.version}", ""]
        if d.functions:
            lines += ["### Selectors", ""]
            for fn in d.functions:
                lines += _function_md(fn)
        if d.checks:
            lines += ["### Checks", ""]
            for fn in d.checks:
                lines += _function_md(fn)
    return "\n".join(lines).rstrip() + "\n"


def upstream_output_path(path: str) -> str:
    """Upstream's `doc -o` rule, kept by the drop-in: a relative path without `..`."""
    if os.path.isabs(path) or ".." in path.replace("\\", "/").split("/"):
        raise CliError(f"refusing to write documentation to '{path}'",
                       help="-o takes a relative path inside the current directory, without '..'")
    return path


def run(args: argparse.Namespace) -> int:
    # `hie-tasks doc -o` takes any path, as every other -o does; the drop-in keeps upstream's refusal.
    output: str | None = args.output
    if output and getattr(args, "upstream", False):
        upstream_output_path(output)
    check_output_path(output)
    check_output_path(output)
    check_workspace(args.workspace)
    project = Project(os.path.join(args.workspace or ".", "_"), ProjectOptions(workspace=args.workspace or "."))
    try:
        project.load_config()
    except ConfigError as exc:
        config_error_exit(exc, args.format == "json")
    with project:
        libraries = project.registry().libraries()
        if args.libraries:
            wanted = [n.strip() for n in args.libraries.split(",") if n.strip()]
            unknown = sorted(set(wanted) - {lib.name for lib in libraries})
            if unknown:
                raise CliError(f"unknown library: {', '.join(unknown)}",
                               help=f"known: {', '.join(lib.name for lib in libraries)}")
            libraries = [lib for lib in libraries if lib.name in wanted]
        docs = sorted((library_doc(lib) for lib in libraries), key=lambda d: d.name)
    if args.format == "json":
        text = json.dumps({"version": "1.0", "libraries": [d.to_json() for d in docs]}, indent=2, ensure_ascii=False)
    else:
        text = markdown(docs)
    if output:
        write_output(output, text)
    else:
        print(text.rstrip("\n"))
    return EXIT_OK


def add_parser(subparsers: Any, *, upstream: bool = False) -> None:
    p = subparsers.add_parser("doc", help="document every registered library's selectors and checks")
    p.set_defaults(upstream=upstream)
    p.add_argument("-w", "--workspace", help="workspace whose hielements.toml adds libraries (default: .)")
    p.add_argument("-f", "--format", choices=["markdown", "json"], default="markdown", metavar="FORMAT",
                   help="markdown or json (default: markdown)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("-l", "--libraries", help="only these libraries, comma-separated")
    p.set_defaults(func=run)
