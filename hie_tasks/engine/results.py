"""What a run produces: one outcome per check, the totals, and diagnostics raised while evaluating scopes.

The output formats (`hie_tasks.output`) read only these classes, so every format reports the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hie_tasks.diagnostics import Diagnostic
from hie_tasks.model.values import Status


@dataclass
class CheckOutcome:
    element: str
    #: the check expression printed back as upstream does (`files.exists(src, 'a.py')`)
    check: str
    status: Status
    message: str | None
    file: str
    line: int
    column: int
    duration_ms: float = 0.0
    cached: bool = False
    #: where a replayed verdict came from: "local" (the result store) or "remote" (the shared cache)
    cache_source: str = "local"
    #: captured plugin output (stdout/stderr lines), shown with the check in human output
    output: list[str] = field(default_factory=list)
    library: str | None = None


@dataclass
class Totals:
    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    cached: int = 0
    #: of `cached`, how many came from the remote cache
    remote: int = 0

    def add(self, outcome: CheckOutcome) -> None:
        self.total += 1
        if outcome.status is Status.PASS:
            self.passed += 1
        elif outcome.status is Status.FAIL:
            self.failed += 1
        else:
            self.errors += 1
        if outcome.cached:
            self.cached += 1
            if outcome.cache_source == "remote":
                self.remote += 1


@dataclass
class RunReport:
    outcomes: list[CheckOutcome] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    #: diagnostics from evaluating scopes (the scope stays unset, later uses fail with E200)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.totals.failed == 0 and self.totals.errors == 0
