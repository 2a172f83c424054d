"""`init NAME`: start a specification in a directory: NAME.hie, hielements.toml and a short usage guide."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from rich.text import Text

from hie_tasks.cli.common import EXIT_OK, CliError, console

_NAME = re.compile(r"^[A-Za-z0-9_]+$")

SPEC_TEMPLATE = """\
## Architecture of {name}
element {name}:
    scope root = files.folder_selector('.')
    check files.exists(root, 'README.md')
"""

CONFIG_TEMPLATE = """\
# Libraries for this workspace's specifications.
# Built-in libraries (files, python, rust) need no entry.
#
# An external process plugin (JSON-RPC over stdio):
#   [libraries.mylib]
#   executable = "python3"
#   args = ["plugins/mylib.py"]
#
# A WebAssembly plugin, sandboxed; grant only what it needs:
#   [libraries.dockerfile]
#   path = "plugins/dockerfile.wasm"
#   capabilities = {{ fs = "read" }}

[libraries]
"""

GUIDE_TEMPLATE = """\
# Checking the architecture of {name}

`{name}.hie` describes this codebase as elements with scopes (sets of files) and checks.

    hie-tasks validate {name}.hie     # syntax and names only
    hie-tasks run {name}.hie          # run the checks (replays unchanged verdicts)
    hie-tasks watch {name}.hie        # rerun affected checks as files change
    hie-tasks doc                     # every library function you can call

Add libraries in `hielements.toml`.
"""


def run(args: argparse.Namespace) -> int:
    name: str = args.name
    if not _NAME.match(name):
        raise CliError(f"invalid name '{name}'", help="use letters, digits and underscores only")
    directory = args.directory or "."
    files = {
        os.path.join(directory, f"{name}.hie"): SPEC_TEMPLATE.format(name=name),
        os.path.join(directory, "hielements.toml"): CONFIG_TEMPLATE.format(name=name),
        os.path.join(directory, "HIELEMENTS.md"): GUIDE_TEMPLATE.format(name=name),
    }
    existing = [path for path in files if os.path.exists(path)]
    if existing:
        raise CliError(f"refusing to overwrite {', '.join(existing)}", help="choose another directory with -d")
    try:
        os.makedirs(directory, exist_ok=True)
        for path, text in files.items():
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(text)
    except OSError as exc:
        raise CliError(f"cannot write in {directory}: {exc.strerror}") from exc
    out = console()
    for path in files:
        out.print(Text(f"created {path}", style="green"))
    return EXIT_OK


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("init", help="create NAME.hie, hielements.toml and a usage guide")
    p.add_argument("name")
    p.add_argument("-d", "--directory", help="where to create them (default: .)")
    p.set_defaults(func=run)
