"""JSON form of values and check results, byte-compatible with upstream's tagged shapes.

One codec serves external plugins, WASM plugins, the result store and `--format json`. Decoding is as
tolerant as upstream's (bare JSON accepted, tags tried in upstream's order), except where the spec says to
improve: a bare array decodes to a List, `ConnectionPoint` decodes, and a tag whose value has the wrong JSON
type is an error naming the tag instead of silently becoming a zero value.
"""

from __future__ import annotations

from hie_tasks.model import jsontext
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import (
    CheckResult,
    ConnectionPoint,
    Location,
    Scope,
    ScopeKind,
    ScopeKindTag,
    Status,
    Value,
)

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

_SNIPPET = 200


def _snippet(data: Any) -> str:
    text = jsontext.dumps(data, ensure_ascii=False)
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…"


def encode_value(value: Value) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"Int": value}
    if isinstance(value, float):
        return {"Float": value}
    if isinstance(value, str):
        return {"String": value}
    if isinstance(value, list):
        return {"List": [encode_value(v) for v in value]}
    if isinstance(value, Scope):
        return {
            "Scope": {
                "kind": {value.kind.tag.value: value.kind.text},
                "paths": list(value.paths),
                "resolved": value.resolved,
            }
        }
    if isinstance(value, ConnectionPoint):
        return {"ConnectionPoint": {"name": value.name, "kind": value.kind, "data": value.data}}
    raise TypeError(f"not a hielements value: {value!r}")


def _bad_tag(tag: str, payload: Any, want: str) -> LibraryError:
    return LibraryError("E508", f"Cannot convert JSON to Value: '{tag}' needs {want}, got {_snippet(payload)}")


def _decode_scope(payload: Any) -> Scope:
    if not isinstance(payload, dict):
        raise _bad_tag("Scope", payload, "an object")
    kind = ScopeKind.file("")
    raw_kind = payload.get("kind")
    if isinstance(raw_kind, dict):
        for tag in ScopeKindTag:
            text = raw_kind.get(tag.value)
            if isinstance(text, str):
                kind = ScopeKind(tag, text)
                break
    raw_paths = payload.get("paths")
    paths = tuple(p for p in raw_paths if isinstance(p, str)) if isinstance(raw_paths, list) else ()
    resolved = payload.get("resolved")
    return Scope(kind, paths, resolved if isinstance(resolved, bool) else False)


def decode_value(data: Any) -> Value:
    if data is None or isinstance(data, (bool, str)):
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, float):
        return int(data) if data.is_integer() else data
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if isinstance(data, dict):
        if "String" in data:
            v = data["String"]
            if not isinstance(v, str):
                raise _bad_tag("String", v, "a string")
            return v
        if "Int" in data:
            v = data["Int"]
            # 1e400 parses as inf and NaN is accepted by Python's json; int() of either would raise.
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and v - v != 0.0):
                raise _bad_tag("Int", v, "a finite number")
            return int(v)
        if "Float" in data:
            v = data["Float"]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _bad_tag("Float", v, "a number")
            return float(v)
        if "Bool" in data:
            v = data["Bool"]
            if not isinstance(v, bool):
                raise _bad_tag("Bool", v, "true or false")
            return v
        if "List" in data:
            v = data["List"]
            if not isinstance(v, list):
                raise _bad_tag("List", v, "an array")
            return [decode_value(item) for item in v]
        if "Scope" in data:
            return _decode_scope(data["Scope"])
        if "ConnectionPoint" in data:
            v = data["ConnectionPoint"]
            if not isinstance(v, dict):
                raise _bad_tag("ConnectionPoint", v, "an object")
            extra = v.get("data")
            return ConnectionPoint(str(v.get("name", "")), str(v.get("kind", "")), extra if isinstance(extra, dict) else {})
    raise LibraryError("E508", f"Cannot convert JSON to Value: {_snippet(data)}")


def encode_check_result(result: CheckResult) -> Any:
    if result.status is Status.PASS:
        return {"Pass": None}
    if result.status is Status.FAIL:
        return {"Fail": result.message or ""}
    return {"Error": result.message or ""}


_OUTCOMES = ("Pass", "Fail", "Error")


def _plugin_locations(data: dict[str, Any]) -> tuple[Location, ...]:
    """A plugin's optional `"locations": [{"file": "src/a.py", "line": 3}, …]` beside its verdict (our
    extension; upstream plugins never send it). Malformed entries are dropped, never an error."""
    raw = data.get("locations")
    if not isinstance(raw, list):
        return ()
    out: list[Location] = []
    for item in raw[:50]:
        if isinstance(item, dict) and isinstance(item.get("file"), str):
            line = item.get("line")
            out.append(Location(item["file"], line if isinstance(line, int) and not isinstance(line, bool)
                                and line > 0 else 0))
    return tuple(out)


def decode_check_result(data: Any) -> CheckResult:
    result = _decode_check_result(data)
    if isinstance(data, dict) and result.status is Status.FAIL:
        located = _plugin_locations(data)
        if located:
            return CheckResult.failed(result.message or "", located)
    return result


def _decode_check_result(data: Any) -> CheckResult:
    if isinstance(data, dict):
        outcomes = [k for k in _OUTCOMES if k in data]
        if len(outcomes) > 1:
            # Fail closed: {"Pass": null, "Fail": "x"} must never read as a pass (upstream's serde rejects it).
            raise LibraryError(
                "E509", f"Cannot convert JSON to CheckResult: more than one outcome ({', '.join(outcomes)}) in "
                f"{_snippet(data)}"
            )
        if "Pass" in data:
            return CheckResult.passed()
        if "Fail" in data:
            msg = data["Fail"]
            return CheckResult.failed(msg if isinstance(msg, str) else "")
        if "Error" in data:
            msg = data["Error"]
            return CheckResult.errored(msg if isinstance(msg, str) else "")
        verdict = data.get("result")
        if isinstance(verdict, str):
            message = data.get("message")
            low = verdict.lower()
            if low == "pass":
                return CheckResult.passed()
            if low == "fail":
                return CheckResult.failed(message if isinstance(message, str) else "Check failed")
            if low == "error":
                return CheckResult.errored(message if isinstance(message, str) else "Check error")
    if isinstance(data, str):
        low = data.lower()
        if low in ("pass", "ok", "true"):
            return CheckResult.passed()
        if low in ("fail", "false"):
            return CheckResult.failed("Check failed")
        return CheckResult.failed(data)
    raise LibraryError("E509", f"Cannot convert JSON to CheckResult: {_snippet(data)}")


_canonical = jsontext.encoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dumps_canonical(data: Any) -> str:
    """Deterministic JSON text, for fingerprints and stored verdicts."""
    return _canonical(data)
