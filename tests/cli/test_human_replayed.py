"""Human output of a run that replays: replayed passes are counted, not listed, unless asked for; what
matters (failures, errors, checks that ran, plugin output) is always listed."""

from __future__ import annotations

import io

from rich.console import Console

from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.model.values import Status
from hie_tasks.output.human import HumanReporter


def outcomes() -> list[CheckOutcome]:
    def make(i: int, status: Status, cached: bool, output: list[str] | None = None) -> CheckOutcome:
        message = None if status is Status.PASS else f"why {i}"
        return CheckOutcome(f"e{i}", f"files.exists(s, '{i}')", status, message, "s.hie", i, 5, cached=cached,
                            output=output or [])
    return [make(1, Status.PASS, True), make(2, Status.FAIL, True), make(3, Status.PASS, False),
            make(4, Status.ERROR, True), make(5, Status.PASS, True, ["plugin said hi"]), make(6, Status.PASS, True)]


def render(summarize: bool) -> list[str]:
    console = Console(file=io.StringIO(), force_terminal=False, width=200)
    report = RunReport(outcomes=outcomes())
    with HumanReporter(console, summarize_replayed=summarize) as reporter:
        for done, outcome in enumerate(report.outcomes, 1):
            report.totals.add(outcome)
            reporter.on_outcome(outcome, done, len(report.outcomes))
        reporter.summary(report)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text.splitlines()


def test_replayed_passes_are_counted_not_listed() -> None:
    lines = render(summarize=True)
    assert "PASS e1 :: files.exists(s, '1') (cached)" not in lines
    assert "PASS e6 :: files.exists(s, '6') (cached)" not in lines
    assert "FAIL e2 :: files.exists(s, '2') (cached)" in lines and "  --> why 2" in lines
    assert "PASS e3 :: files.exists(s, '3')" in lines
    assert "ERROR e4 :: files.exists(s, '4') (cached)" in lines
    assert "PASS e5 :: files.exists(s, '5') (cached)" in lines and "  | plugin said hi" in lines
    assert "Summary: 6 total, 4 passed, 1 failed, 1 errors" in lines
    cache = next(line for line in lines if line.startswith("Cache: "))
    assert cache.startswith("Cache: 5 replayed, 1 ran (")
    assert cache.endswith("; 2 replayed passes not listed (-v lists them)")


def test_without_summarizing_every_check_is_listed() -> None:
    lines = render(summarize=False)
    assert "PASS e1 :: files.exists(s, '1') (cached)" in lines
    assert "PASS e6 :: files.exists(s, '6') (cached)" in lines
    assert not any("not listed" in line for line in lines)
