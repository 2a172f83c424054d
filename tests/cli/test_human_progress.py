"""The progress bar appears on a terminal for runs longer than a moment, never in piped output."""

from __future__ import annotations

import io
import time

from rich.console import Console

from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.model.values import Status
from hie_tasks.output import human


def outcome(i: int, cached: bool = False) -> CheckOutcome:
    return CheckOutcome(f"e{i}", f"files.exists(s, '{i}')", Status.PASS, None, "s.hie", i, 5, cached=cached)


def drive(console: Console, pause_s: float, n: int = 4) -> str:
    with human.HumanReporter(console) as reporter:
        for i in range(1, n + 1):
            time.sleep(pause_s)
            reporter.on_outcome(outcome(i, cached=i % 2 == 0), i, n)
        report = RunReport(outcomes=[outcome(i) for i in range(1, n + 1)])
        for o in report.outcomes:
            report.totals.add(o)
        reporter.summary(report)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def test_terminal_run_longer_than_a_moment_shows_progress() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    out = drive(console, human._PROGRESS_AFTER_S / 2 + 0.05)
    assert "━" in out  # rich's bar
    assert "e1 :: files.exists(s, '1')" in out and "e4 :: files.exists(s, '4')" in out


def test_piped_output_has_no_progress_and_marks_cached_plainly() -> None:
    console = Console(file=io.StringIO(), force_terminal=False, width=100)
    out = drive(console, human._PROGRESS_AFTER_S / 2 + 0.05)
    assert "━" not in out and "\x1b[" not in out
    assert "PASS e2 :: files.exists(s, '2') (cached)" in out.splitlines()
    assert "Summary: 4 total, 4 passed, 0 failed, 0 errors" in out


def test_quick_terminal_run_shows_no_progress() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    assert "━" not in drive(console, 0.0)
