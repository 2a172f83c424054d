"""A plan's checks, evaluated and ready to run: what the interpreter produces and the runner consumes.

Apart from the interpreter so that running checks (the run memo's partial rerun, hie_tasks/replay/partial.py)
does not import the language's syntax trees and the registry to name them.
"""

from __future__ import annotations

from hie_tasks.diagnostics import Diagnostic, Span
from hie_tasks.engine.scopes import ScopeStore
from hie_tasks.libraries.base import CallContext, Library
from hie_tasks.model.record import Record
from hie_tasks.model.values import Value

__all__ = ["Plan", "PlannedCheck"]


class PlannedCheck(Record):
    __slots__ = ("element", "index", "text", "spec_file", "span", "library", "function", "args", "error",
                 "skipped")

    element: str
    #: index of the check among its element's checks: with `spec_file`, `element` and `text`, a stable key
    index: int
    text: str
    spec_file: str
    span: Span
    library: Library | None
    function: str
    args: list[Value]
    #: set when the arguments could not be evaluated: the check is an Error verdict without calling anything
    error: str | None
    skipped: bool

    def __init__(self, element: str, index: int, text: str, spec_file: str, span: Span,
                 library: Library | None = None, function: str = "", args: list[Value] | None = None,
                 error: str | None = None, skipped: bool = False) -> None:
        self.element = element
        self.index = index
        self.text = text
        self.spec_file = spec_file
        self.span = span
        self.library = library
        self.function = function
        self.args = [] if args is None else args
        self.error = error
        self.skipped = skipped


class Plan(Record):
    __slots__ = ("checks", "diagnostics", "scopes", "scope_inputs")

    checks: list[PlannedCheck]
    diagnostics: list[Diagnostic]
    scopes: ScopeStore
    #: what each evaluated scope's selectors read: scope key → (deps, trees); used by watch and explain
    scope_inputs: dict[str, CallContext]

    def __init__(self, checks: list[PlannedCheck] | None = None, diagnostics: list[Diagnostic] | None = None,
                 scopes: ScopeStore | None = None, scope_inputs: dict[str, CallContext] | None = None) -> None:
        self.checks = [] if checks is None else checks
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.scopes = ScopeStore() if scopes is None else scopes
        self.scope_inputs = {} if scope_inputs is None else scope_inputs
