"""Plugins that cannot load, reported once, at load, naming the file — not once per check.

A configured WASM module that is missing, not WebAssembly or not a valid plugin fails every call with the
same load error. The run loads each such library before planning; a failure becomes one diagnostic at its
`hielements.toml` entry, and the checks it serves say only that their plugin did not load.
"""

from __future__ import annotations

from hie_tasks.config import WorkspaceConfig, library_span
from hie_tasks.diagnostics import Diagnostic, Span, error
from hie_tasks.engine.results import CheckOutcome
from hie_tasks.libraries.registry import Registry
from hie_tasks.model.errors import LibraryError


def load_failures(
    registry: Registry, config: WorkspaceConfig, names: set[str]
) -> tuple[list[Diagnostic], dict[str, str]]:
    """(one diagnostic per library that failed to load, library name → its load error message), for the
    libraries in `names` (those the spec imports: a configured plugin nobody uses is never loaded)."""
    diags: list[Diagnostic] = []
    failed: dict[str, str] = {}
    for library in registry.libraries():
        load = getattr(library, "load", None)
        if library.kind != "wasm" or not callable(load) or library.name not in names:
            continue
        try:
            load()
        except LibraryError as exc:
            failed[library.name] = exc.message
            span = library_span(config, library.name) or Span.point(config.file or "hielements.toml", 1, 1)
            diags.append(error(exc.code, exc.message, span,
                               help=f"every check and selector of '{library.name}' errors until this is fixed"))
    return diags, failed


def shorten_load_error(outcome: CheckOutcome, failed: dict[str, str]) -> None:
    message = failed.get(outcome.library or "")
    if message is not None and outcome.message is not None and message in outcome.message:
        outcome.message = f"plugin '{outcome.library}' did not load (reported above: {outcome.library} in hielements.toml)"


def shorten_load_diagnostics(diags: list[Diagnostic], failed: dict[str, str]) -> list[Diagnostic]:
    """Scope-evaluation errors that only repeat a load error point back at it instead."""
    if not failed:
        return diags
    out: list[Diagnostic] = []
    for d in diags:
        for name, message in failed.items():
            if message in d.message:
                d = d.replace(message=d.message.replace(message, f"plugin '{name}' did not load (reported above)"))
        out.append(d)
    return out
