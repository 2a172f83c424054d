"""Loading config and spec for a command, turning every user mistake into a printed message and exit code."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

from hie_tasks.cli.common import EXIT_UNREADABLE, CliError, error_console, print_diagnostics, read_sources
from hie_tasks.config import ConfigError
from hie_tasks.engine.project import Project, ProjectOptions
from hie_tasks.lang.loader import SpecReadError, SpecSet


def config_error_exit(exc: ConfigError, as_json: bool) -> NoReturn:
    if as_json:
        payload = {
            "version": "1.0",
            "status": "error",
            "errors": [d.to_json() for d in exc.diagnostics],
            "warnings": [],
            "summary": {"total_errors": len(exc.diagnostics), "total_warnings": 0},
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print_diagnostics(error_console(), exc.diagnostics, read_sources(exc.diagnostics))
    sys.exit(EXIT_UNREADABLE)


def load_spec_or_exit(
    spec_path: str, workspace: str | None, as_json: bool, options: ProjectOptions | None = None
) -> tuple[SpecSet, Project]:
    opts = options or ProjectOptions()
    if workspace is not None:
        opts.workspace = workspace
    project = Project(spec_path, opts)
    try:
        project.load_config()
    except ConfigError as exc:
        config_error_exit(exc, as_json)
    try:
        spec = project.load_spec()
    except SpecReadError as exc:
        raise CliError(f"cannot read {exc.path}: {exc.reason}", EXIT_UNREADABLE) from exc
    spec.diagnostics[:0] = project.config_warnings
    return spec, project
