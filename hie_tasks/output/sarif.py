"""`--format sarif`: SARIF 2.1.0, the format GitHub code scanning (and most IDE viewers) read.

One run. `tool.driver.rules` has one rule per library check function the plan calls, `library.function` as
its id, with the catalog's texts (`hie-tasks doc`), plus one rule per diagnostic code that occurs. Every
failing or erroring check is a result of level `error` (an Error carries `"couldNotRun": true` in its
properties: the check did not give a verdict); passes are counted in the run's properties, not listed, so
code scanning shows only what needs fixing. Spec diagnostics are results of their own code.

Locations are workspace-relative URIs against `%SRCROOT%`. A result points at the offending source lines
when the check reports them (structured `locations`), with the `.hie` line of the check as a related
location; otherwise at the `.hie` line. `partialFingerprints` hash the element path and the check text (and
which of several equal checks in that element it is), never a line number or message, so an alert keeps
its identity across runs, edits of the offending file and reordering of the spec.

Nothing here depends on timing, so the document of a merged sharded run is byte-identical to the
unsharded run's.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any
from urllib.parse import quote

from hie_tasks.diagnostics import Diagnostic
from hie_tasks.engine.results import CheckOutcome, RuleDoc, RunReport
from hie_tasks.model.values import Status
from hie_tasks.output.json_report import pretty_json
from hie_tasks.version import __version__

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/hie-tasks/"
SRCROOT = "%SRCROOT%"
#: Keys of `partialFingerprints`; the version suffix changes only if the recipe ever has to.
CHECK_FINGERPRINT = "hieTasksCheck/v1"
DIAGNOSTIC_FINGERPRINT = "hieTasksDiagnostic/v1"

_CALLEE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\(")

_CODE_AREAS = (
    ("E0", "The .hie text could not be read as Hielements (syntax)."),
    ("W0", "The .hie file is valid but probably not what was meant."),
    ("E2", "The spec could not be evaluated: a scope or a check argument refers to something undefined."),
    ("E5", "hielements.toml or a plugin's configuration or answer is wrong."),
    ("W5", "hielements.toml is valid but probably not what was meant."),
    ("E6", "A WebAssembly plugin failed while a scope was evaluated."),
)


# ---------------------------------------------------------------------------------------------- helpers


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def _loc_fields(loc: Any) -> tuple[str, int] | None:
    """(file, line) of a structured location, whether an object with attributes or a JSON-shaped dict."""
    if isinstance(loc, dict):
        file, line = loc.get("file"), loc.get("line", 0)
    else:
        file, line = getattr(loc, "file", None), getattr(loc, "line", 0)
    if not isinstance(file, str) or not file:
        return None
    return file, line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else 0


def offending_locations(outcome: CheckOutcome) -> list[tuple[str, int]]:
    """The source places a check reported (`locations` on the outcome, when the check gave any)."""
    raw = getattr(outcome, "locations", None) or ()
    return [fields for fields in (_loc_fields(loc) for loc in raw) if fields is not None]


class _Uris:
    def __init__(self, report: RunReport) -> None:
        self.workspace = os.path.abspath(report.workspace or os.getcwd())
        self.base = os.path.abspath(report.base_dir or os.getcwd())

    def root_uri(self) -> str:
        uri = _file_uri(self.workspace)
        return uri if uri.endswith("/") else uri + "/"

    def artifact(self, file: str) -> dict[str, Any]:
        path = os.path.normpath(os.path.join(self.base, file))
        rel = os.path.relpath(path, self.workspace)
        if rel == ".." or rel.startswith(".." + os.sep):
            # Outside the workspace (a spec given by absolute path elsewhere): an absolute URI, no base.
            return {"uri": _file_uri(path)}
        return {"uri": quote(rel.replace(os.sep, "/"), safe="/"), "uriBaseId": SRCROOT}

    def location(self, file: str, line: int, column: int = 0, end: tuple[int, int] | None = None
                 ) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": self.artifact(file)}
        if line > 0:
            region: dict[str, Any] = {"startLine": line}
            if column > 0:
                region["startColumn"] = column
            if end is not None and end[0] >= line and end[1] > 0:
                region["endLine"] = end[0]
                region["endColumn"] = end[1]
            physical["region"] = region
        return {"physicalLocation": physical}


def _file_uri(path: str) -> str:
    return "file://" + quote(os.path.abspath(path).replace(os.sep, "/"), safe="/")


def _rule_json(rule: RuleDoc) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": ["hielements", "architecture"], "library": rule.library}
    if rule.library_version:
        properties["libraryVersion"] = rule.library_version
    return {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.full},
        "help": {"text": rule.help_text, "markdown": rule.help_markdown},
        "defaultConfiguration": {"level": "error"},
        "properties": properties,
    }


def outcome_rule_id(outcome: CheckOutcome) -> str:
    """`library.function`; for a check that named no resolvable function, the callee as written."""
    if outcome.library and outcome.function:
        return f"{outcome.library}.{outcome.function}"
    match = _CALLEE.match(outcome.check)
    return f"{match.group(1)}.{match.group(2)}" if match else "hielements.check"


def _fallback_rule(rule_id: str, outcome: CheckOutcome) -> RuleDoc:
    if rule_id == "hielements.check":
        text = "A check that is not a `library.function(...)` call; it cannot run."
    else:
        library, _, function = rule_id.partition(".")
        text = (f"The `{function}` check of the `{library}` library, which this run could not resolve "
                f"({outcome.message or 'no catalog entry'}).")
    return RuleDoc(rule_id, rule_id.partition(".")[0], rule_id.partition(".")[2], f"Check {rule_id}", text,
                   text, text)


def _diagnostic_rule(code: str) -> RuleDoc:
    area = next((text for prefix, text in _CODE_AREAS if code.startswith(prefix)),
                "A library reported a problem while a scope was evaluated.")
    kind = "warning" if code.startswith("W") else "error"
    full = f"hie-tasks {kind} {code}: {area} The message names the place and the fix."
    return RuleDoc(code, "hie-tasks", code, f"hie-tasks {kind} {code}", full, full, full)


# ---------------------------------------------------------------------------------------------- document


def sarif_log(report: RunReport) -> dict[str, Any]:
    uris = _Uris(report)
    rules: dict[str, RuleDoc] = dict(report.rules)
    failing = [o for o in report.outcomes if o.status is not Status.PASS]
    for outcome in failing:
        rule_id = outcome_rule_id(outcome)
        if rule_id not in rules:
            rules[rule_id] = _fallback_rule(rule_id, outcome)
    for d in report.diagnostics:
        rules.setdefault(d.code, _diagnostic_rule(d.code))
    ordered = sorted(rules)
    index = {rule_id: i for i, rule_id in enumerate(ordered)}

    results: list[dict[str, Any]] = [_diagnostic_result(d, index, uris, seen) for d, seen in _numbered_diagnostics(report)]
    occurrences: dict[tuple[str, str], int] = {}
    for outcome in report.outcomes:
        n = occurrences[(outcome.element, outcome.check)] = occurrences.get((outcome.element, outcome.check), -1) + 1
        if outcome.status is not Status.PASS:
            results.append(_check_result(outcome, n, index, uris))

    t = report.totals
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "hie-tasks",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule_json(rules[rule_id]) for rule_id in ordered],
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": uris.root_uri()}},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {
            "summary": {"total": t.total, "passed": t.passed, "failed": t.failed, "errors": t.errors,
                        "skipped": t.skipped}
        },
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _numbered_diagnostics(report: RunReport) -> list[tuple[Diagnostic, int]]:
    seen: dict[tuple[str, str], int] = {}
    out = []
    for d in report.diagnostics:
        n = seen[(d.code, d.message)] = seen.get((d.code, d.message), -1) + 1
        out.append((d, n))
    return out


def _diagnostic_result(d: Diagnostic, index: dict[str, int], uris: _Uris, occurrence: int) -> dict[str, Any]:
    text = d.message + (f" (help: {d.help})" if d.help else "")
    return {
        "ruleId": d.code,
        "ruleIndex": index[d.code],
        "level": "error" if d.is_error else "warning",
        "message": {"text": text},
        "locations": [uris.location(d.file, d.line, d.column, (d.span.end_line, d.span.end_column))],
        "partialFingerprints": {DIAGNOSTIC_FINGERPRINT: _digest("diagnostic", d.code, d.message, str(occurrence))},
        "properties": {"kind": "diagnostic"},
    }


def _check_result(outcome: CheckOutcome, occurrence: int, index: dict[str, int], uris: _Uris) -> dict[str, Any]:
    rule_id = outcome_rule_id(outcome)
    could_not_run = outcome.status is Status.ERROR
    what = "could not run" if could_not_run else "failed"
    message = f"{outcome.element} :: {outcome.check} {what}: {outcome.message or 'no message'}"
    hie = uris.location(outcome.file, outcome.line, outcome.column)
    offending = offending_locations(outcome)
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": index[rule_id],
        "kind": "fail",
        "level": "error",
        "message": {"text": message},
    }
    if offending:
        result["locations"] = [uris.location(file, line) for file, line in offending]
        result["relatedLocations"] = [{"id": 1, **hie, "message": {"text": "the check in the spec"}}]
    else:
        result["locations"] = [hie]
    result["partialFingerprints"] = {
        CHECK_FINGERPRINT: _digest("check", outcome.element, outcome.check, str(occurrence))
    }
    properties: dict[str, Any] = {"element": outcome.element, "check": outcome.check,
                                  "status": outcome.status.value}
    if could_not_run:
        properties["couldNotRun"] = True
    result["properties"] = properties
    return result


def render(report: RunReport) -> str:
    return pretty_json(sarif_log(report))
