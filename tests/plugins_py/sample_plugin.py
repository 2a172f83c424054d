#!/usr/bin/env python3
"""A sample external Hielements plugin: JSON-RPC 2.0 requests on stdin, one response line each on stdout.

Selector: simple_selector(path) -> a Folder Scope of every file below <workspace>/<path>.
Checks: file_count_check(scope, n), always_pass(), always_fail().
Other plugins in this directory reuse `serve` with their own handlers.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

Handler = Callable[[str, dict[str, Any]], Any]


class PluginError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def plain(value: Any) -> Any:
    """A tagged hielements value as plain JSON data (Scope stays a dict)."""
    if isinstance(value, dict) and len(value) == 1:
        tag, inner = next(iter(value.items()))
        if tag in ("String", "Int", "Float", "Bool"):
            return inner
        if tag == "List":
            return [plain(v) for v in inner]
    return value


def simple_selector(workspace: str, path: str) -> Any:
    root = os.path.join(workspace, path)
    found: list[str] = []
    for folder, _dirs, names in os.walk(root):
        found.extend(os.path.join(folder, n) for n in names)
    return {"Scope": {"kind": {"Folder": path}, "paths": sorted(found), "resolved": True}}


def file_count_check(scope: Any, n: Any) -> Any:
    paths = scope.get("Scope", {}).get("paths", []) if isinstance(scope, dict) else []
    want = int(n)
    if len(paths) >= want:
        return {"Pass": None}
    return {"Fail": f"Expected at least {want} files, found {len(paths)}"}


def _doc_entry(name: str, description: str, params: list[tuple[str, str, str]], returns: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "parameters": [{"name": p, "type": t, "description": d} for p, t, d in params],
        "return_type": returns,
        "example": f"sample.{name}(...)",
    }


DOC = {
    "name": "sample",
    "description": "Sample external plugin",
    "version": "1.0.0",
    "functions": [_doc_entry("simple_selector", "Files below a folder", [("path", "string", "folder")], "Scope")],
    "checks": [
        _doc_entry("file_count_check", "At least n files", [("scope", "Scope", "files"), ("n", "integer", "minimum")], "CheckResult"),
        _doc_entry("always_pass", "Passes", [], "CheckResult"),
        _doc_entry("always_fail", "Fails", [], "CheckResult"),
    ],
}


def handle(method: str, params: dict[str, Any]) -> Any:
    if method == "library.metadata":
        return {
            "name": "sample",
            "version": "1.0.0",
            "functions": ["simple_selector"],
            "checks": ["file_count_check", "always_pass", "always_fail"],
        }
    if method == "library.doc":
        return DOC
    function = params.get("function")
    args = [plain(a) for a in params.get("args", [])]
    workspace = params.get("workspace", ".")
    if method == "library.call" and function == "simple_selector":
        return simple_selector(workspace, args[0])
    if method == "library.check":
        if function == "file_count_check":
            return file_count_check(args[0], args[1])
        if function == "always_pass":
            return {"Pass": None}
        if function == "always_fail":
            return {"Fail": "This check always fails"}
    raise PluginError(-32601, f"Unknown function: {function}")


def respond(out: Any, request_id: Any, result: Any = None, error: dict[str, Any] | None = None) -> None:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if error is not None:
        message["error"] = error
    else:
        message["result"] = result
    out.write(json.dumps(message) + "\n")
    out.flush()


def serve(handler: Handler = handle) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            result = handler(request["method"], request.get("params") or {})
        except PluginError as exc:
            respond(sys.stdout, request.get("id"), error={"code": exc.code, "message": exc.message})
        else:
            respond(sys.stdout, request.get("id"), result)


if __name__ == "__main__":
    serve()
