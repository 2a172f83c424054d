#!/usr/bin/env python3
"""External JSON-RPC plugin for the end-to-end incremental tests; it leaves evidence of every call.

Usage: counting_plugin.py LOG_DIR. Each start and each check appends one line to LOG_DIR/calls.log, so a
test can prove that a replayed run did not call the plugin at all. The log lives outside the workspace and
LOG_DIR is a directory (the host digests plugin arguments that are files into the library identity, and a
growing log file would then invalidate every verdict).

Checks:
  count_at_least(scope, n)   reads every file of the scope; Pass when there are at least n of them
  slow_pass(scope, seconds)  logs "slow_pass start", sleeps, then passes (for kill -9 tests)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

# The serving loop and value helpers are shared with the other test plugins.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins_py"))
from sample_plugin import PluginError, plain, serve  # type: ignore[import-not-found]  # found via sys.path above

LOG_DIR = sys.argv[1] if len(sys.argv) > 1 else "."


def log(line: str) -> None:
    # O_APPEND keeps lines whole when two runs' plugins log at the same time.
    fd = os.open(os.path.join(LOG_DIR, "calls.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def scope_paths(value: Any) -> list[str]:
    if isinstance(value, dict) and isinstance(value.get("Scope"), dict):
        return [str(p) for p in value["Scope"].get("paths", [])]
    raise PluginError(-32602, "expected a Scope as first argument")


def scope_text(value: Any) -> str:
    kind = value["Scope"].get("kind") or {}
    return next(iter(kind.values()), "?") if isinstance(kind, dict) else str(kind)


def count_at_least(scope: Any, n: Any) -> Any:
    paths = scope_paths(scope)
    total = sum(len(Path(p).read_bytes()) for p in paths)
    if len(paths) >= int(n):
        return {"Pass": None}
    return {"Fail": f"{len(paths)} files ({total} bytes), wanted at least {int(n)}"}


def handle(method: str, params: dict[str, Any]) -> Any:
    if method != "library.check":
        raise PluginError(-32601, f"unsupported method {method}")
    function = params.get("function")
    args = [plain(a) for a in params.get("args", [])]
    log(f"{function} {scope_text(args[0]) if args else ''}".rstrip())
    if function == "count_at_least":
        return count_at_least(args[0], args[1])
    if function == "slow_pass":
        log("slow_pass start")
        time.sleep(float(args[1]))
        return {"Pass": None}
    raise PluginError(-32601, f"Unknown function: {function}")


if __name__ == "__main__":
    log("started")
    serve(handle)
