"""`--format json`: upstream's run shape plus our own fields.

Upstream's keys (`version`, `status`, `summary{total,passed,failed,errors}`, `results[{element, check,
status, message}]`) keep their meaning; we add `file`, `line`, `column`, `duration_ms`, `cached`, `library`
`output` and `locations` (`[{file, line}]`, the offending sources) per result, `skipped`/`cached`/`duration_ms`
in the summary and `diagnostics` (warnings such as an empty scope, scope-evaluation errors). A spec with errors
gives upstream's validation shape plus `diagnostics` (see `invalid_spec_json`).
"""

from __future__ import annotations

from hie_tasks.model.jsontext import quote

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from hie_tasks.engine.results import CheckOutcome, RunReport


def outcome_json(outcome: CheckOutcome) -> dict[str, Any]:
    return {
        "element": outcome.element,
        "check": outcome.check,
        "status": outcome.status.value,
        "message": outcome.message,
        "file": outcome.file,
        "line": outcome.line,
        "column": outcome.column,
        "duration_ms": round(outcome.duration_ms, 3),
        "cached": outcome.cache_source if outcome.cached else False,
        "library": outcome.library,
        "output": outcome.output,
        "locations": [location.to_json() for location in outcome.locations],
    }


def report_json(report: RunReport) -> dict[str, Any]:
    if report.spec_invalid:
        return invalid_spec_json(report)
    t = report.totals
    data: dict[str, Any] = {
        "version": "1.0",
        "status": "ok" if report.ok else "error",
        "summary": {
            "total": t.total,
            "passed": t.passed,
            "failed": t.failed,
            "errors": t.errors,
            "skipped": t.skipped,
            "cached": t.cached,
            "cached_remote": t.remote,
            "duration_ms": round(report.duration_ms, 3),
        },
        "results": [outcome_json(o) for o in report.outcomes],
        "diagnostics": [d.to_json() for d in report.diagnostics],
    }
    if report.shard is not None:
        from hie_tasks.output.merge import shard_json

        data["shard"] = shard_json(report, report.shard)
    return data


def invalid_spec_json(report: RunReport) -> dict[str, Any]:
    """A spec with errors: exactly upstream's answer to `run --format json` on an invalid spec (its validation
    shape: `errors`, `warnings`, `summary.total_errors`; no `results`, which is how readers tell it from a run)
    plus our `diagnostics` (every one, in order)."""
    errors, warnings = report.errors, report.warnings
    return {
        "version": "1.0",
        "status": "error",
        "errors": [d.to_json() for d in errors],
        "warnings": [d.to_json() for d in warnings],
        "summary": {"total_errors": len(errors), "total_warnings": len(warnings)},
        "diagnostics": [d.to_json() for d in report.diagnostics],
    }


def render(report: RunReport) -> str:
    return pretty_json(report_json(report))


#: How `render` separates the entries of `results`, each rendered by `result_text`.
RESULT_SEPARATOR = ",\n    "
_MARK = "\x00results\x00"


def result_text(outcome: CheckOutcome) -> str:
    """One entry of `results` exactly as `render` writes it, indented in place."""
    return _pretty(outcome_json(outcome), "\n    ")


def split_render(report: RunReport) -> tuple[str, str] | None:
    """`render(report)` around its results: (head, tail), with `render(report)` equal to
    `head + RESULT_SEPARATOR.join(result_text(o) for o in report.outcomes) + tail` when there are outcomes.
    The run memo (hie_tasks/replay) rewrites a few results of a kept report without rendering the rest."""
    data = report_json(report)
    if "results" not in data:
        return None
    data["results"] = [_MARK]
    try:
        text = _pretty(data, "\n")
    except _Unknown:
        return None
    head, mark, tail = text.partition(quote(_MARK))
    return (head, tail) if mark and _MARK not in tail else None


def pretty_json(data: Any) -> str:
    """`json.dumps(data, indent=2, ensure_ascii=False)`, about twice as fast.

    With `indent` the standard library falls back to its pure-Python encoder; a report of a few thousand
    checks then costs tens of milliseconds, a visible share of a run that replays everything. Any value
    this does not know (a subclass, a non-string key) hands the whole document to the standard encoder.
    """
    try:
        return _pretty(data, "\n")
    except _Unknown:
        import json

        return json.dumps(data, indent=2, ensure_ascii=False)


_INFINITY = float("inf")


class _Unknown(Exception):
    pass


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _null(_value: None) -> str:
    return "null"


_SCALARS: dict[type, Callable[[Any], str]] = {
    str: quote, int: int.__repr__, float: _float, bool: _bool, type(None): _null,
}


def _pretty(value: Any, indent: str) -> str:
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        return scalar(value)
    inner = indent + "  "
    sep = "," + inner
    if type(value) is dict:
        if not value:
            return "{}"
        items: list[str] = []
        for key, item in value.items():
            if type(key) is not str:
                raise _Unknown
            scalar = _SCALARS.get(type(item))
            items.append(quote(key) + ": " + (scalar(item) if scalar is not None else _pretty(item, inner)))
        return "{" + inner + sep.join(items) + indent + "}"
    if type(value) is list:
        if not value:
            return "[]"
        return "[" + inner + sep.join([_pretty(item, inner) for item in value]) + indent + "]"
    raise _Unknown
