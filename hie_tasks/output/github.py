"""`--format github`: GitHub Actions workflow commands, so failures annotate the `.hie` line in a PR."""

from __future__ import annotations

from hie_tasks.engine.results import RunReport
from hie_tasks.model.values import Status


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: RunReport) -> str:
    lines: list[str] = []
    for d in report.diagnostics:
        lines.append(
            f"::warning file={_escape_property(d.file)},line={d.line},col={d.column},"
            f"title={_escape_property(d.code)}::{_escape_data(d.message)}"
        )
    for o in report.outcomes:
        if o.status is Status.PASS:
            continue
        level = "error"
        title = f"{o.status.value.upper()} {o.element}"
        message = f"{o.check}: {o.message or ''}"
        lines.append(
            f"::{level} file={_escape_property(o.file)},line={o.line},col={o.column},"
            f"title={_escape_property(title)}::{_escape_data(message)}"
        )
    t = report.totals
    lines.append(f"Summary: {t.total} total, {t.passed} passed, {t.failed} failed, {t.errors} errors"
                 + (f", {t.skipped} skipped" if t.skipped else ""))
    return "\n".join(lines)
