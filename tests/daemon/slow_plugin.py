#!/usr/bin/env python3
"""An external plugin whose check stalls once: when `<workspace>/arm` exists and `<workspace>/in-flight`
does not, it creates `in-flight` and sleeps, so a test can kill whoever is waiting for it mid-request."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins_py"))

from sample_plugin import PluginError, serve


def handle(method: str, params: dict[str, Any]) -> Any:
    if method == "library.metadata":
        return {"name": "slow", "version": "1.0.0", "functions": [], "checks": ["stall_once"]}
    if method == "library.check" and params.get("function") == "stall_once":
        workspace = params.get("workspace", ".")
        marker = os.path.join(workspace, "in-flight")
        if os.path.exists(os.path.join(workspace, "arm")) and not os.path.exists(marker):
            with open(marker, "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(120)
        return {"Pass": None}
    raise PluginError(-32601, f"Unknown method: {method}")


if __name__ == "__main__":
    serve(handle)
