"""A plan's checks, evaluated and ready to run: what the interpreter produces and the runner consumes.

Apart from the interpreter so that running checks (the run memo's partial rerun, hie_tasks/replay/partial.py)
does not import the language's syntax trees and the registry to name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hie_tasks.diagnostics import Diagnostic, Span
from hie_tasks.engine.scopes import ScopeStore
from hie_tasks.libraries.base import CallContext, Library
from hie_tasks.model.values import Value

__all__ = ["Plan", "PlannedCheck"]


@dataclass
class PlannedCheck:
    element: str
    #: index of the check among its element's checks: with `spec_file`, `element` and `text`, a stable key
    index: int
    text: str
    spec_file: str
    span: Span
    library: Library | None = None
    function: str = ""
    args: list[Value] = field(default_factory=list)
    #: set when the arguments could not be evaluated: the check is an Error verdict without calling anything
    error: str | None = None
    skipped: bool = False


@dataclass
class Plan:
    checks: list[PlannedCheck] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    scopes: ScopeStore = field(default_factory=ScopeStore)
    #: what each evaluated scope's selectors read: scope key → (deps, trees); used by watch and explain
    scope_inputs: dict[str, CallContext] = field(default_factory=dict)
