"""Per-cycle output: a short human block, or one JSON object per line, flushed as soon as the cycle ends.

Both show the same facts: the changed files, the checks that really reran with their verdicts (replays are
not repeated), diagnostics of a broken edit, and the state of the whole plan in one summary line.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.text import Text

from hie_tasks.diagnostics import render
from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.model.values import Status
from hie_tasks.output.human import HumanReporter, plural
from hie_tasks.output.json_report import outcome_json, report_json
from hie_tasks.watch.cycle import CycleReport

#: The changed-files line lists this many paths, then "and N more".
_SHOWN_CHANGED = 10


class CycleSink(Protocol):
    def cycle(self, report: CycleReport) -> None: ...

    def message(self, text: str) -> None:
        """A line about watching itself (started, stopped)."""


def state_line(report: RunReport) -> str:
    t = report.totals
    return f"{plural(t.total, 'check')}: {t.passed} passing, {t.failed} failing, {plural(t.errors, 'error')}"


def _now() -> datetime.datetime:
    return datetime.datetime.now().astimezone()


def broken_line(cycle: CycleReport) -> str | None:
    """The last line of a cycle whose spec or config edit did not load: the state must be unmissable, since
    the summary above it describes the previous plan, not the file on disk."""
    if not cycle.kept_previous:
        return None
    errors = sum(d.is_error for d in cycle.diagnostics)
    return (f"✗ spec broken: {plural(errors, 'error')} above; the previous plan is still in force "
            "(fix the file to re-plan)")


def shown_outcomes(cycle: CycleReport) -> list[CheckOutcome]:
    """What a cycle lists: what reran, plus on the first cycle every non-passing verdict (nothing was shown
    before, so a replayed failure is news too)."""
    if cycle.initial and cycle.report is not None:
        return [o for o in cycle.report.outcomes if not o.cached or o.status is not Status.PASS]
    return cycle.reran


class HumanSink:
    def __init__(self, console: Console) -> None:
        self.console = console

    def message(self, text: str) -> None:
        self.console.print(Text(text, style="dim"))

    def cycle(self, report: CycleReport) -> None:
        out = self.console
        # Cycles are timestamped: in a long session "when did this run?" is the first question.
        title = Text(f"[{_now():%H:%M:%S}] ", style="dim").append(f"[cycle {report.number}] ", style="bold")
        if report.initial:
            title.append("initial run")
        else:
            shown = report.changed[:_SHOWN_CHANGED]
            more = len(report.changed) - len(shown)
            title.append("changed: " + ", ".join(shown) + (f", and {more} more" if more > 0 else ""))
        out.print(title)
        for d in report.diagnostics:
            out.print(Text(render(d, report.sources.get(d.file)), style="red" if d.is_error else "yellow"))
        if report.error is not None:
            out.print(Text(f"  error in this cycle: {report.error}", style="bold red"))
        lines = HumanReporter(out)
        outcomes = shown_outcomes(report)
        for done, outcome in enumerate(outcomes, 1):
            lines.on_outcome(outcome, done, len(outcomes))
        if report.report is None:
            out.print(Text("  nothing ran: fix the problems above; watching for changes", style="yellow"))
            return
        broken = broken_line(report)
        style = "bold red" if not report.report.ok else "yellow" if broken else "bold green"
        tail = f"  ({len(report.reran)} reran, {report.duration_ms:.0f} ms)"
        prefix = "previous plan: " if broken else ""
        out.print(Text(prefix + state_line(report.report), style=style).append(tail, style="dim"))
        if broken:
            out.print(Text(broken, style="bold red"))


def cycle_json(report: CycleReport) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "cycle": report.number,
        "time": _now().isoformat(timespec="seconds"),
        "changed": report.changed,
        "reran": [outcome_json(o) for o in report.reran],
        "summary": report_json(report.report)["summary"] if report.report is not None else None,
        "diagnostics": [d.to_json() for d in report.diagnostics],
    }
    if report.initial and report.report is not None:
        payload["results"] = [outcome_json(o) for o in report.report.outcomes]
    if report.error is not None:
        payload["error"] = report.error
    if report.kept_previous:
        payload["kept_previous"] = True
        payload["spec_broken"] = True
        payload["spec_errors"] = sum(d.is_error for d in report.diagnostics)
    if report.events_lost:
        payload["events_lost"] = True
    return payload


class JsonSink:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def message(self, text: str) -> None:
        """Status lines are for people; the JSON stream carries only cycles."""

    def cycle(self, report: CycleReport) -> None:
        self.stream.write(json.dumps(cycle_json(report), ensure_ascii=False) + "\n")
        self.stream.flush()
