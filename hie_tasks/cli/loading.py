"""Loading config and spec for a command, turning every user mistake into a printed message and exit code."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import NoReturn

from hie_tasks.cli.common import EXIT_UNREADABLE, CliError, error_console, print_diagnostics, read_sources
from hie_tasks.config import ConfigError
from hie_tasks.engine.project import Project, ProjectOptions, ignore_in_git
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


def resolve_spec_calls(spec: SpecSet, project: Project, *, as_errors: bool, validating: bool = False) -> None:
    """Add a finding for every call no library offers as written (`lang.validate.resolve_calls`), in place,
    keeping the spec's diagnostics ordered by file and position."""
    from hie_tasks.engine.catalogs import catalogs
    from hie_tasks.lang.validate import resolve_calls

    # `run` asks external plugins only when it keeps a store to remember their answer in (see engine/catalogs.py).
    store = project.result_cache_dir() if project.options.use_store else None
    imported = spec.library_imports()
    found = catalogs(
        project.registry(), cache_dir=store, ask_external=validating or store is not None, names=imported
    )
    if store is not None and os.path.isdir(store):
        ignore_in_git(store)
    # The findings are a function of the programs and the catalogs: a cached spec carries them (see
    # `SpecSet.derived`), so a run that reuses it does not parse the spec for them.
    key = "calls " + hashlib.sha256(f"{as_errors} {sorted(found.items())!r}".encode()).hexdigest()
    extra = spec.derived.get(key)
    if extra is None:
        extra = [d for program in spec.programs for d in resolve_calls(program, found, as_errors=as_errors)]
        spec.derived[key] = extra
    if not extra:
        return
    order = {name: i for i, name in enumerate(spec.file_names())}
    spec.diagnostics[:] = sorted([*spec.diagnostics, *extra],
                                 key=lambda d: (order.get(d.file, -1), d.line, d.column))


def load_spec_or_exit(
    spec_path: str, workspace: str | None, as_json: bool, options: ProjectOptions | None = None,
    *, calls: str = "errors", validating: bool = False,
) -> tuple[SpecSet, Project]:
    """`calls`: how unresolvable calls are reported — "errors" (hie-tasks), "warnings" (the upstream
    drop-in, which keeps upstream's exit codes) or "off" (commands that only parse)."""
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
    if calls != "off":
        try:
            resolve_spec_calls(spec, project, as_errors=calls == "errors", validating=validating)
        except BaseException:
            project.close()  # Ctrl-C or SIGTERM while a plugin answers: stop its process
            raise
    spec.diagnostics[:0] = project.config_warnings
    return spec, project
