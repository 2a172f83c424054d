#!/usr/bin/env python3
"""External JSON-RPC plugin with checks of uneven, known cost, for the shard-balance tests.

`cost.work(scope, ms)` sleeps `ms` milliseconds and passes, so the durations the result store records for
its checks are real measured durations that differ by design.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins_py"))
from sample_plugin import PluginError, plain, serve  # type: ignore[import-not-found]  # found via sys.path above

DOC = {
    "name": "cost",
    "description": "Checks that take a chosen time",
    "version": "1.0.0",
    "functions": [],
    "checks": [{
        "name": "work",
        "description": "Spend the given number of milliseconds, then pass. Used to make uneven workloads.",
        "parameters": [{"name": "scope", "type": "Scope", "description": "ignored"},
                       {"name": "ms", "type": "integer", "description": "how long to take"}],
        "return_type": "CheckResult",
        "example": "check cost.work(src, 40)",
    }],
}


def handle(method: str, params: dict[str, Any]) -> Any:
    if method == "library.metadata":
        return {"name": "cost", "version": "1.0.0", "functions": [], "checks": ["work"]}
    if method == "library.doc":
        return DOC
    if method == "library.check" and params.get("function") == "work":
        args = [plain(a) for a in params.get("args", [])]
        time.sleep(int(args[1]) / 1000)
        return {"Pass": None}
    raise PluginError(-32601, f"Unknown function: {params.get('function')}")


if __name__ == "__main__":
    serve(handle)
