#!/usr/bin/env python3
"""External JSON-RPC plugin for the remote-cache tests: logs every start and check to LOG_DIR/calls.log.

Checks:
  count_at_least(scope, n)  Pass when the scope has at least n files
  slow_pass(scope, s)       logs "slow_pass start", sleeps s seconds, passes (the server is killed meanwhile)
  big_fail(scope, mib)      Fail with a message of `mib` MiB that starts with the scope's first path
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins_py"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e_incremental"))
# The serving loop comes from the sample plugin, the call log (LOG_DIR = argv[1]) from the counting plugin.
from counting_plugin import log  # type: ignore[import-not-found]  # found via sys.path above
from sample_plugin import PluginError, plain, serve  # type: ignore[import-not-found]


def paths(value: Any) -> list[str]:
    if isinstance(value, dict) and isinstance(value.get("Scope"), dict):
        return [str(p) for p in value["Scope"].get("paths", [])]
    raise PluginError(-32602, "expected a Scope as first argument")


def handle(method: str, params: dict[str, Any]) -> Any:
    if method != "library.check":
        raise PluginError(-32601, f"unsupported method {method}")
    function = params.get("function")
    args = [plain(a) for a in params.get("args", [])]
    files = paths(args[0])
    log(f"{function} {len(files)}")
    if function == "count_at_least":
        return {"Pass": None} if len(files) >= int(args[1]) else {"Fail": f"{len(files)} files in {files}"}
    if function == "slow_pass":
        log("slow_pass start")
        time.sleep(float(args[1]))
        return {"Pass": None}
    if function == "big_fail":
        filler = "0123456789abcdef" * (int(args[1]) * 65536)
        return {"Fail": f"{files[0] if files else '-'} {filler}"}
    raise PluginError(-32601, f"Unknown function: {function}")


if __name__ == "__main__":
    log("started")
    serve(handle)
