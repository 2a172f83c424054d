"""Human output for `run`: one line per check as it finishes, messages and plugin output under it, a summary.

Lines keep upstream's shape (`PASS|FAIL|ERROR <element> :: <check>`, the message after `-->`,
`Summary: T total, P passed, F failed, E errors[, S skipped]`) so scripts that grep them keep working;
colour, the dimmed `(cached)` marker and the progress bar appear only on a terminal.

With `summarize_replayed` (what `run` does unless `-v`), a replayed PASS without plugin output is not
printed line by line — a no-op run of thousands of checks would otherwise spend more time printing than
deciding — and the `Cache:` line says how many were left out. Failures, errors, checks that ran and checks
with output are always printed; the JSON, JUnit and GitHub formats always carry every result.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from hie_tasks.diagnostics import Diagnostic, render
from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.model.values import Location, Status

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

_STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "bold red"}
#: Plugin output shown under a check is cut here; the JSON form carries all of it.
_OUTPUT_LINES = 20
#: A progress bar appears only when a run is still going after this long.
_PROGRESS_AFTER_S = 0.5
#: Offending-source lines shown under a check; JSON carries all of them.
_LOCATION_LINES = 10


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 check`, `2 checks`."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def location_text(location: Location) -> str:
    return f"{location.file}:{location.line}" if location.line else location.file


def summary_line(report: RunReport) -> str:
    t = report.totals
    line = f"Summary: {t.total} total, {t.passed} passed, {t.failed} failed, {t.errors} errors"
    if t.skipped:
        line += f", {t.skipped} skipped"
    return line


class HumanReporter:
    """`show_passed=False` is `-q`: failures, errors and the summary only. `summarize_replayed` counts
    replayed passes on the `Cache:` line instead of listing them (what a no-op prints, unless `-v`).

    When the results printed outnumber the terminal's lines, the summary is followed by a recap of every
    failing check, so the failures are on screen where the run ended (pytest's "short test summary").
    """

    def __init__(self, console: Console, *, show_passed: bool = True, summarize_replayed: bool = False) -> None:
        self.console = console
        self.show_passed = show_passed
        self.summarize_replayed = summarize_replayed
        #: replayed passes left out of the listing (`summarize_replayed`)
        self.hidden = 0
        self._printed = 0
        self._failing: list[CheckOutcome] = []
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = time.perf_counter()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> HumanReporter:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def header(self, spec: str, workspace: str, checks: int) -> None:
        self.console.print(Text(f"Running {plural(checks, 'check')} from {spec} (workspace {workspace})", style="bold"))

    def diagnostics(self, diags: list[Diagnostic], sources: dict[str, str]) -> None:
        for d in diags:
            self.console.print(Text(render(d, sources.get(d.file)), style="yellow" if not d.is_error else "red"))

    # ------------------------------------------------------------------ per check

    def on_outcome(self, outcome: CheckOutcome, done: int, total: int) -> None:
        self._maybe_progress(done, total)
        if outcome.status is not Status.PASS:
            self._failing.append(outcome)
        if outcome.status is Status.PASS and not self.show_passed:
            return
        if self.summarize_replayed and outcome.cached and outcome.status is Status.PASS and not outcome.output:
            self.hidden += 1
            return
        self._printed += 1
        line = Text()
        line.append(outcome.status.value.upper(), style=_STYLE[outcome.status])
        line.append(f" {outcome.element} :: {outcome.check}")
        if outcome.cached:
            line.append(" (cached)", style="dim")
        self.console.print(line)
        if outcome.message and outcome.status is not Status.PASS:
            self.console.print(Text(f"  --> {outcome.message}"))
        if outcome.locations and outcome.status is not Status.PASS:
            shown_locations = outcome.locations[:_LOCATION_LINES]
            for location in shown_locations:
                self.console.print(Text(f"      at {location_text(location)}"))
            if len(outcome.locations) > len(shown_locations):
                self.console.print(Text(f"      … and {len(outcome.locations) - len(shown_locations)} more"))
        if outcome.output:
            shown = outcome.output[:_OUTPUT_LINES]
            for text in shown:
                for piece in text.splitlines() or [""]:
                    self.console.print(Text(f"  | {piece}", style="dim"))
            if len(outcome.output) > len(shown):
                self.console.print(Text(f"  | … {len(outcome.output) - len(shown)} more lines", style="dim"))

    def on_outcomes(self, outcomes: list[CheckOutcome]) -> None:
        """A finished run's outcomes, as `on_outcome` prints them while it runs."""
        total = len(outcomes)
        for done, outcome in enumerate(outcomes, 1):
            self.on_outcome(outcome, done, total)

    def _maybe_progress(self, done: int, total: int) -> None:
        if not self.console.is_terminal:
            return
        if self._progress is None:
            if time.perf_counter() - self._started < _PROGRESS_AFTER_S or done >= total:
                return
            # Imported here: most runs finish before a bar would appear, and rich.progress costs ~10 ms.
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self._progress = Progress(
                TextColumn("checks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=self.console, transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("checks", total=total)
        assert self._task is not None
        self._progress.update(self._task, completed=done)

    # ------------------------------------------------------------------ end

    def summary(self, report: RunReport, *, cache_line: bool = True) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        t = report.totals
        style = "bold green" if report.ok else "bold red"
        self.console.print(Text(summary_line(report), style=style))
        if self._failing and self._printed > self.console.size.height:
            self.console.print(Text(f"{plural(len(self._failing), 'check')} not passing:", style="bold red"))
            for o in self._failing:
                line = Text()
                line.append(o.status.value.upper(), style=_STYLE[o.status])
                line.append(f" {o.element} :: {o.check}")
                line.append(f"  ({o.file}:{o.line})", style="dim")
                self.console.print(line)
        if t.cached and cache_line:
            ran = t.total - t.cached
            remote = f" ({t.remote:,} remote)" if t.remote else ""
            cache = f"Cache: {t.cached:,} replayed{remote}, {ran:,} ran ({report.duration_ms / 1000:.2f} s)"
            if self.hidden:
                cache += f"; {self.hidden:,} replayed passes not listed (-v lists them)"
            self.console.print(Text(cache, style="dim"))
