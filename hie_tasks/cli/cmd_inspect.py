"""`inspect FILE.wasm`: show a WASM plugin's imports, exports, ABI version, metadata and ABI problems.

Exit status: 0 satisfies the plugin contract, 1 does not, 2 unreadable (missing file, not WebAssembly).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hie_tasks.libraries.wasm.inspect import InspectReport, inspect_wasm


def _human(report: InspectReport) -> str:
    lines = [f"{report.path}"]
    if report.readable:
        lines.append("imports:")
        lines += [f"  {m}.{n}: {t}" for m, n, t in report.imports] or ["  (none)"]
        lines.append("exports:")
        lines += [f"  {n}: {t}" for n, t in report.exports] or ["  (none)"]
        lines.append(f"ABI version: {report.abi_version if report.abi_version is not None else '(not declared; 1 assumed)'}")
        if report.metadata is not None:
            lines.append("metadata: " + json.dumps(report.metadata, ensure_ascii=False))
    if report.ok:
        lines.append("satisfies the hie-tasks plugin ABI 1")
    else:
        lines.append("problems:")
        lines += [f"  - {p}" for p in report.problems]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = inspect_wasm(args.file)
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(_human(report))
    if not report.readable:
        return 2
    return 0 if report.ok else 1


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("inspect", help="inspect a WASM plugin and check it against the plugin ABI")
    parser.add_argument("file", metavar="FILE.wasm")
    parser.add_argument("--format", choices=("human", "json"), default="human")
    parser.set_defaults(func=run)
