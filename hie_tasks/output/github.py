"""`--format github`: GitHub Actions workflow commands, so problems annotate the right line in a PR.

Diagnostics keep their severity (`::error` for an error, `::warning` for a warning). A failing check that
names offending sources (`locations`) annotates each source line — the import that breaks the rule, not the
`.hie` line — and says which check of which `.hie` line it broke; without locations the `.hie` line is used.
"""

from __future__ import annotations

from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.model.values import Status
from hie_tasks.output.human import summary_line

#: A check naming more offending lines than this annotates the first ones (GitHub shows only so many).
_MAX_ANNOTATIONS_PER_CHECK = 10


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, file: str, line: int, col: int | None, title: str, message: str) -> str:
    where = f"file={_escape_property(file)}"
    if line > 0:
        where += f",line={line}"
    if col is not None:
        where += f",col={col}"
    return f"::{level} {where},title={_escape_property(title)}::{_escape_data(message)}"


def _outcome_lines(o: CheckOutcome) -> list[str]:
    title = f"{o.status.value.upper()} {o.element}"
    message = f"{o.check}: {o.message or ''}"
    if not o.locations:
        return [_command("error", o.file, o.line, o.column, title, message)]
    where = f" (check at {o.file}:{o.line})"
    return [
        _command("error", loc.file, loc.line, None, title, message + where)
        for loc in o.locations[:_MAX_ANNOTATIONS_PER_CHECK]
    ]


def render(report: RunReport) -> str:
    lines: list[str] = []
    for d in report.diagnostics:
        level = "error" if d.is_error else "warning"
        text = d.message + (f"\nhelp: {d.help}" if d.help else "")
        lines.append(_command(level, d.file, d.line, d.column, d.code, text))
    for o in report.outcomes:
        if o.status is not Status.PASS:
            lines.extend(_outcome_lines(o))
    if report.spec_invalid:
        lines.append(f"{len(report.errors)} error(s) in the spec; no checks were run")
    else:
        lines.append(summary_line(report))
    return "\n".join(lines)
