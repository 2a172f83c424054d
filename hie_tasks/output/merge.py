"""`hie-tasks merge`: the JSON reports of the shards of one run (`--shard i/N -f json`) back into one report.

A sharded run's JSON report is the ordinary report plus a `"shard"` object: which shard of how many, the
identity of the whole plan and of the split, each result's position in the whole plan, and what the other
formats need without the workspace at hand (rule texts for SARIF, the workspace root). Merging checks that
the reports fit together — the same plan, the same split, every shard exactly once, every check of the plan
exactly once — and otherwise fails naming the files, so a missing or stale artifact never turns into a
green report. The merged report lists outcomes in plan order, totals over all shards, the diagnostics once
(every shard planned the whole spec, so they are the same), and as duration the longest shard's (the
shards ran side by side).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hie_tasks.diagnostics import Diagnostic, Severity, Span
from hie_tasks.engine.results import CheckOutcome, RuleDoc, RunReport, ShardInfo
from hie_tasks.model.values import Status


class MergeError(Exception):
    def __init__(self, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.help = help


# ---------------------------------------------------------------------------------------------- writing


def _rule_json(rule: RuleDoc) -> dict[str, Any]:
    return {"library": rule.library, "function": rule.function, "short": rule.short, "full": rule.full,
            "help_text": rule.help_text, "help_markdown": rule.help_markdown,
            "library_version": rule.library_version}


def shard_json(report: RunReport, info: ShardInfo) -> dict[str, Any]:
    return {
        "index": info.index,
        "count": info.count,
        "plan": info.plan,
        "split": info.split,
        "checks": info.checks,
        "positions": list(info.positions),
        "functions": [o.function for o in report.outcomes],
        "durations": info.durations,
        "spec": info.spec,
        "workspace": report.workspace,
        "base_dir": report.base_dir,
        "rules": {rule_id: _rule_json(rule) for rule_id, rule in report.rules.items()},
    }


# ---------------------------------------------------------------------------------------------- reading


class _Bad(Exception):
    pass


def _get(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise _Bad(f"{where} has no \"{key}\"")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
        raise _Bad(f"{where}: \"{key}\" has the wrong type ({type(value).__name__})")
    return value


def _optional_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise _Bad(f"{where}: \"{key}\" must be a string or null")
    return value


def _locations(raw: Any) -> list[Any]:
    """Structured locations (added to results by another change) as the result model holds them, if it does."""
    import importlib

    cls = getattr(importlib.import_module("hie_tasks.model.values"), "Location", None)
    if cls is None or not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("file"), str):
            line = item.get("line", 0)
            out.append(cls(item["file"], line if isinstance(line, int) and not isinstance(line, bool) else 0))
    return out


def _status(item: Any, where: str) -> Status:
    text = _get(item, "status", str, where)
    if text not in {s.value for s in Status}:
        raise _Bad(f"{where}: unknown status '{text}'")
    return Status(text)


def _severity(item: Any, where: str) -> Severity:
    text = _get(item, "severity", str, where)
    if text not in {s.value for s in Severity}:
        raise _Bad(f"{where}: unknown severity '{text}'")
    return Severity(text)


def _outcome(item: Any, where: str) -> CheckOutcome:
    status = _status(item, where)
    output = item.get("output", [])
    if not isinstance(output, list) or not all(isinstance(line, str) for line in output):
        raise _Bad(f"{where}: \"output\" must be a list of strings")
    outcome = CheckOutcome(
        element=_get(item, "element", str, where),
        check=_get(item, "check", str, where),
        status=status,
        message=_optional_str(item, "message", where),
        file=_get(item, "file", str, where),
        line=_get(item, "line", int, where),
        column=_get(item, "column", int, where),
        duration_ms=float(_get(item, "duration_ms", (int, float), where)),
        cached=bool(item.get("cached", False)),
        output=list(output),
        library=_optional_str(item, "library", where),
    )
    if "locations" in item and hasattr(outcome, "locations"):
        outcome.locations = _locations(item["locations"])
    return outcome


def _diagnostic(item: Any, where: str) -> Diagnostic:
    severity = _severity(item, where)
    file = _get(item, "file", str, where)
    line, column = _get(item, "line", int, where), _get(item, "column", int, where)
    end_line, end_column = line, column + 1
    span = item.get("span")
    if isinstance(span, dict) and isinstance(span.get("end"), dict):
        end = span["end"]
        if isinstance(end.get("line"), int) and isinstance(end.get("column"), int):
            end_line, end_column = end["line"], end["column"]
    return Diagnostic(
        code=_get(item, "code", str, where),
        severity=severity,
        message=_get(item, "message", str, where),
        span=Span(file, line, column, end_line, end_column),
        help=_optional_str(item, "help", where),
        context=_optional_str(item, "context", where),
    )


def _rule(rule_id: str, item: Any, where: str) -> RuleDoc:
    w = f"{where}, rule '{rule_id}'"
    return RuleDoc(rule_id, _get(item, "library", str, w), _get(item, "function", str, w),
                   _get(item, "short", str, w), _get(item, "full", str, w), _get(item, "help_text", str, w),
                   _get(item, "help_markdown", str, w), str(item.get("library_version", "")))


@dataclass
class ShardReport:
    path: str
    report: RunReport
    info: ShardInfo


def _parse(path: str, data: Any) -> ShardReport:
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise _Bad("it is not a hie-tasks JSON report (no \"results\" list)")
    shard = data.get("shard")
    if not isinstance(shard, dict):
        raise _Bad("it is not the report of a sharded run: it has no \"shard\" object "
                   "(write each shard's report with `hie-tasks run --shard i/N -f json -o FILE`)")
    where = "\"shard\""
    positions = _get(shard, "positions", list, where)
    functions = _get(shard, "functions", list, where)
    results = data["results"]
    if len(positions) != len(results) or len(functions) != len(results):
        raise _Bad(f"it lists {len(results)} results but {len(positions)} positions and {len(functions)} functions")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in positions) or not all(
            isinstance(f, str) for f in functions):
        raise _Bad("\"shard\": positions must be integers and functions strings")
    info = ShardInfo(
        index=_get(shard, "index", int, where),
        count=_get(shard, "count", int, where),
        plan=_get(shard, "plan", str, where),
        split=_get(shard, "split", str, where),
        checks=_get(shard, "checks", int, where),
        positions=list(positions),
        durations=str(shard.get("durations", "")),
        spec=str(shard.get("spec", "")),
    )
    if info.count < 1 or not 1 <= info.index <= info.count:
        raise _Bad(f"it claims to be shard {info.index}/{info.count}")
    summary = _get(data, "summary", dict, "the report")
    report = RunReport(
        duration_ms=float(_get(summary, "duration_ms", (int, float), "\"summary\"")),
        workspace=str(shard.get("workspace", "")),
        base_dir=str(shard.get("base_dir", "")),
    )
    report.totals.skipped = _get(summary, "skipped", int, "\"summary\"")
    for n, (item, function) in enumerate(zip(results, functions, strict=True)):
        outcome = _outcome(item, f"result {n + 1}")
        outcome.function = function
        report.outcomes.append(outcome)
    diagnostics = data.get("diagnostics", [])
    if not isinstance(diagnostics, list):
        raise _Bad("\"diagnostics\" must be a list")
    report.diagnostics = [_diagnostic(d, f"diagnostic {n + 1}") for n, d in enumerate(diagnostics)]
    rules = _get(shard, "rules", dict, where)
    report.rules = {rule_id: _rule(rule_id, item, where) for rule_id, item in rules.items()}
    return ShardReport(path, report, info)


def read_shard(path: str) -> ShardReport:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise MergeError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MergeError(f"{path} is not a JSON report (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MergeError(f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})",
                         help="give the files written by `hie-tasks run --shard i/N -f json -o FILE`") from None
    try:
        return _parse(path, data)
    except _Bad as exc:
        raise MergeError(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------------------------- merging


def _short(identity: str) -> str:
    return identity[:12]


def check_complete(shards: Sequence[ShardReport]) -> None:
    """Raise MergeError unless the shards are exactly the N parts of one split of one plan."""
    if not shards:
        raise MergeError("no reports to merge", help="hie-tasks merge shard-1.json shard-2.json …")
    first = shards[0]
    for other in shards[1:]:
        if (other.info.plan, other.info.count) != (first.info.plan, first.info.count):
            raise MergeError(
                f"{first.path} and {other.path} come from different plans: {first.path} is shard "
                f"{first.info.index}/{first.info.count} of plan {_short(first.info.plan)}, {other.path} is shard "
                f"{other.info.index}/{other.info.count} of plan {_short(other.info.plan)}",
                help="merge the reports of one run only: every shard must run the same spec, hielements.toml, "
                     "plugins and hie-tasks version with the same N",
            )
    by_index: dict[int, ShardReport] = {}
    for shard in shards:
        seen = by_index.get(shard.info.index)
        if seen is not None:
            raise MergeError(f"{seen.path} and {shard.path} are both shard {shard.info.index}/{shard.info.count}",
                             help="give each shard's report once")
        by_index[shard.info.index] = shard
    missing = [i for i in range(1, first.info.count + 1) if i not in by_index]
    if missing:
        have = ", ".join(f"{s.info.index} ({s.path})" for s in sorted(shards, key=lambda s: s.info.index))
        raise MergeError(
            f"missing shard{'s' * (len(missing) > 1)} {', '.join(f'{i}/{first.info.count}' for i in missing)}: "
            f"got {have}",
            help="pass the JSON reports of all shards (a failed or cancelled shard job uploads none)",
        )
    for other in shards[1:]:
        if other.info.split != first.info.split:
            raise MergeError(
                f"{first.path} and {other.path} split the plan differently (durations: "
                f"{first.info.durations or '?'} vs {other.info.durations or '?'}), so their checks may overlap "
                "or miss some",
                help="every shard must balance by the same durations: give all of them the same "
                     "--durations FILE (e.g. the last merged report), or the same result store",
            )
    positions: dict[int, str] = {}
    skipped = 0
    for shard in shards:
        skipped += shard.report.totals.skipped
        for p in shard.info.positions:
            if not 0 <= p < first.info.checks:
                raise MergeError(f"{shard.path}: result position {p} is outside the plan of {first.info.checks} checks")
            if p in positions:
                raise MergeError(f"{positions[p]} and {shard.path} both report check {p + 1} of the plan")
            positions[p] = shard.path
    if len(positions) + skipped != first.info.checks:
        raise MergeError(
            f"the shards report {len(positions)} checks and skip {skipped}, but the plan has {first.info.checks}",
            help="a shard's report is incomplete (was it run with --limit or cut short?)",
        )


def merge(shards: Sequence[ShardReport]) -> RunReport:
    check_complete(shards)
    first = shards[0].report
    merged = RunReport(diagnostics=list(first.diagnostics), rules=dict(first.rules), workspace=first.workspace,
                       base_dir=first.base_dir)
    placed: list[tuple[int, CheckOutcome]] = []
    for shard in shards:
        placed.extend(zip(shard.info.positions, shard.report.outcomes, strict=True))
        merged.totals.skipped += shard.report.totals.skipped
        merged.duration_ms = max(merged.duration_ms, shard.report.duration_ms)
    for _, outcome in sorted(placed, key=lambda item: item[0]):
        merged.outcomes.append(outcome)
        merged.totals.add(outcome)
    return merged


def merge_files(paths: Sequence[str]) -> tuple[RunReport, ShardInfo]:
    shards = [read_shard(path) for path in paths]
    return merge(shards), shards[0].info
