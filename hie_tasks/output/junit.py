"""`--format junit`: JUnit XML as CI servers ingest it (one testsuite per element, one testcase per check).

Spec diagnostics form a suite of their own (`hielements.diagnostics`), and a failure's text lists the
offending sources (`at FILE:LINE`) under upstream's message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.model.values import Status


def _suite_attrs(outcomes: list[CheckOutcome]) -> dict[str, str]:
    return {
        "tests": str(len(outcomes)),
        "failures": str(sum(o.status is Status.FAIL for o in outcomes)),
        "errors": str(sum(o.status is Status.ERROR for o in outcomes)),
        "skipped": "0",
        "time": f"{sum(o.duration_ms for o in outcomes) / 1000:.3f}",
    }


def _failure_text(o: CheckOutcome) -> str | None:
    if not o.locations:
        return o.message
    where = [f"  at {loc.file}:{loc.line}" if loc.line else f"  at {loc.file}" for loc in o.locations]
    return "\n".join([o.message or "", *where])


def _diagnostics_suite(root: ET.Element, report: RunReport) -> None:
    """Spec diagnostics as one suite: an error is an `<error>` case (a CI server then shows the run as broken
    even when no check ran), a warning a passing case whose output carries the text."""
    errors = report.errors
    suite = ET.SubElement(root, "testsuite", {
        "name": "hielements.diagnostics", "tests": str(len(report.diagnostics)), "failures": "0",
        "errors": str(len(errors)), "skipped": "0", "time": "0.000",
    })
    for d in report.diagnostics:
        case = ET.SubElement(suite, "testcase", {
            "classname": "hielements.diagnostics", "name": f"{d.code} {d.file}:{d.line}:{d.column}",
            "file": d.file, "line": str(d.line), "time": "0.000",
        })
        text = d.message + (f"\nhelp: {d.help}" if d.help else "")
        if d.is_error:
            ET.SubElement(case, "error", {"message": d.message, "type": d.code}).text = text
        else:
            ET.SubElement(case, "system-out").text = f"warning[{d.code}]: {text}"


def render(report: RunReport, name: str = "hielements") -> str:
    root = ET.Element("testsuites", {"name": name, **_suite_attrs(report.outcomes)})
    root.set("skipped", str(report.totals.skipped))
    if report.diagnostics:
        root.set("tests", str(len(report.outcomes) + len(report.diagnostics)))
        root.set("errors", str(int(root.get("errors", "0")) + len(report.errors)))
        _diagnostics_suite(root, report)
    by_element: dict[str, list[CheckOutcome]] = {}
    for outcome in report.outcomes:
        by_element.setdefault(outcome.element, []).append(outcome)
    for element, outcomes in by_element.items():
        suite = ET.SubElement(root, "testsuite", {"name": element, **_suite_attrs(outcomes)})
        for o in outcomes:
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": element,
                    "name": o.check,
                    "file": o.file,
                    "line": str(o.line),
                    "time": f"{o.duration_ms / 1000:.3f}",
                },
            )
            if o.status is Status.FAIL:
                ET.SubElement(case, "failure", {"message": o.message or "", "type": "CheckFailed"}).text = _failure_text(o)
            elif o.status is Status.ERROR:
                ET.SubElement(case, "error", {"message": o.message or "", "type": "CheckError"}).text = _failure_text(o)
            props = []
            if o.cached:
                props.append("cached: true")
            if o.output:
                props.extend(o.output)
            if props:
                ET.SubElement(case, "system-out").text = "\n".join(props)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
