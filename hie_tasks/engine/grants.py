"""What a plugin was not granted, said where it matters.

A WASM plugin with `fs = "none"` (the default) has no preopened directory: when it tries to list or read
the workspace it sees nothing, and all it can report is an empty scope or a bare "cannot read". The host
knows why, so it says so, naming the grant and the hielements.toml line to edit:
`plugin 'myplug' has no file access; grant capabilities.fs = "read" in hielements.toml:LINE`.
It says it in two places: as help on the empty-scope warning (W010) of a scope the plugin selected, and
as a note added to a failing or erroring verdict of the plugin that looks like a read failure.
"""

from __future__ import annotations

import os
import re

from hie_tasks.config import FsAccess, WasmLibraryConfig, WorkspaceConfig, library_span
from hie_tasks.diagnostics import Diagnostic
from hie_tasks.engine.results import CheckOutcome

#: Words plugins use when a read failed (C's strerror, Rust's io::Error, our SDK's messages).
_READ_FAILURE = re.compile(
    r"cannot (?:read|open|list)|could not (?:read|open)|failed to (?:read|open)|no such file|not found"
    r"|permission|denied|not permitted|not capable|capabilit|bad file descriptor|errno",
    re.IGNORECASE,
)


def no_file_access_hints(config: WorkspaceConfig) -> dict[str, str]:
    """Library name → the message for each WASM plugin granted no file access."""
    hints: dict[str, str] = {}
    for entry in config.libraries:
        if isinstance(entry, WasmLibraryConfig) and entry.capabilities.fs is FsAccess.NONE:
            span = library_span(config, entry.name, "capabilities", "fs") or library_span(config, entry.name)
            where = f"{os.path.basename(span.file)}:{span.line}" if span is not None else "hielements.toml"
            hints[entry.name] = (
                f"plugin '{entry.name}' has no file access; grant capabilities.fs = \"read\" in {where}"
            )
    return hints


def annotate_denied_read(outcome: CheckOutcome, hints: dict[str, str]) -> None:
    """Add the grant hint to a non-passing verdict of a plugin without file access that looks like a read
    failure. Upstream's message comes first, unchanged; the hint is a second line."""
    hint = hints.get(outcome.library or "")
    if hint is None or outcome.message is None or hint in outcome.message:
        return
    if _READ_FAILURE.search(outcome.message):
        outcome.message = f"{outcome.message}\nnote: {hint}"


_CALLEE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\.")


def annotate_denied_diagnostics(
    diags: list[Diagnostic], sources: dict[str, str], hints: dict[str, str]
) -> list[Diagnostic]:
    """The same hint on scope-evaluation errors (`Failed to evaluate scope …: No such file or directory`) of
    selectors served by a plugin without file access; the diagnostic points at the failing call."""
    if not hints:
        return diags
    out: list[Diagnostic] = []
    for d in diags:
        lines = sources.get(d.file, "").splitlines()
        text = lines[d.line - 1][d.column - 1:] if 1 <= d.line <= len(lines) else ""
        callee = _CALLEE.match(text)
        hint = hints.get(callee.group(1)) if callee else None
        if hint is not None and d.is_error and _READ_FAILURE.search(d.message):
            d = d.replace(help=hint if not d.help else f"{hint}; {d.help}")
        out.append(d)
    return out
