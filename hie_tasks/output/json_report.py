"""`--format json`: upstream's run shape plus our own fields.

Upstream's keys (`version`, `status`, `summary{total,passed,failed,errors}`, `results[{element, check,
status, message}]`) keep their meaning; we add `file`, `line`, `column`, `duration_ms`, `cached`, `library`
and `output` per result, `skipped`/`cached`/`duration_ms` in the summary and scope-evaluation `diagnostics`.
"""

from __future__ import annotations

import json
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
        "cached": outcome.cached,
        "library": outcome.library,
        "output": outcome.output,
    }


def report_json(report: RunReport) -> dict[str, Any]:
    t = report.totals
    return {
        "version": "1.0",
        "status": "ok" if report.ok else "error",
        "summary": {
            "total": t.total,
            "passed": t.passed,
            "failed": t.failed,
            "errors": t.errors,
            "skipped": t.skipped,
            "cached": t.cached,
            "duration_ms": round(report.duration_ms, 3),
        },
        "results": [outcome_json(o) for o in report.outcomes],
        "diagnostics": [d.to_json() for d in report.diagnostics],
    }


def render(report: RunReport) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False)
