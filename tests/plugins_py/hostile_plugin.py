#!/usr/bin/env python3
"""Misbehaving external plugins for the failure tests: `hostile_plugin.py MODE`.

Calls to `ok` (and every sample function) answer normally; a call to `bad` misbehaves according to MODE, so a
test can show the library recovers afterwards. MODE=exit_early misbehaves on the very first request.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from sample_plugin import PluginError, handle, respond, serve

MODE = sys.argv[1] if len(sys.argv) > 1 else "none"
#: requests seen; the host numbers a process's requests 1, 2, 3…
SEEN = 0


def misbehave(method: str, params: dict[str, Any]) -> Any:
    if MODE == "double_answer":
        # Answers this request twice: the second line is stale and must not answer the next request.
        respond(sys.stdout, SEEN, {"Fail": "first answer"})
        sys.stdout.flush()
        return {"Pass": None}
    if MODE == "setsid_grandchild":
        # A grandchild in its own session (outside the plugin's process group), then hang.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        sys.stderr.write(f"grandchild {child.pid}\n")
        sys.stderr.flush()
        time.sleep(600)
    if MODE == "crash":
        sys.stderr.write("about to crash\n")
        sys.stderr.flush()
        raise RuntimeError("plugin blew up")  # uncaught: traceback on stderr, exit status 1
    if MODE == "hang":
        # A grandchild in the same process group must die with the plugin.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        sys.stderr.write(f"grandchild {child.pid}\n")
        sys.stderr.flush()
        time.sleep(600)
    if MODE == "garbage":
        sys.stdout.write("hello, this is not json\n")
        sys.stdout.flush()
        time.sleep(600)
    if MODE == "wrong_id":
        respond(sys.stdout, 999, {"Pass": None})
        time.sleep(600)
    if MODE == "flood_stderr":
        chunk = "x" * 1000 + "\n"
        for _ in range(5000):  # 5 MB, far more than a pipe buffer
            sys.stderr.write(chunk)
        sys.stderr.flush()
        return {"Pass": None}
    if MODE == "huge_line":
        sys.stdout.write('{"jsonrpc": "2.0", "id": 1, "result": {"String": "' + "a" * (3 * 1024 * 1024) + '"}}\n')
        sys.stdout.flush()
        time.sleep(600)
    if MODE == "error_object":
        raise PluginError(-32000, "the plugin refuses")
    if MODE == "empty_result":
        return None
    if MODE == "chatty":
        sys.stderr.write("working on it\n")
        sys.stderr.write("still working\n")
        sys.stderr.flush()
        return {"Pass": None, "deps": ["data/config.json", "/abs/elsewhere.txt"]}
    if MODE == "blank_lines":
        sys.stdout.write("\n   \n\n")
        sys.stdout.flush()
        return {"Fail": "after blank lines"}
    if MODE == "unterminated_exit":
        # Answer without a newline, then exit: upstream reads the final partial line at EOF.
        sys.stderr.write(f"pid {os.getpid()}\n")
        sys.stderr.flush()
        sys.stdout.write('{"jsonrpc": "2.0", "id": 1, "result": {"Fail": "last words"}}')
        sys.stdout.flush()
        os._exit(0)
    raise PluginError(-32602, f"unknown mode {MODE}")


def handler(method: str, params: dict[str, Any]) -> Any:
    global SEEN
    SEEN += 1
    if MODE == "exit_early":
        sys.stderr.write("giving up early\n")
        sys.stderr.flush()
        os._exit(3)
    if method == "library.doc" and MODE != "none":
        raise PluginError(-32601, "no documentation")
    if method == "library.metadata" and MODE != "none":
        # What this plugin really serves: hie-tasks resolves a spec's calls against it before running.
        meta = handle(method, params)
        return {**meta, "checks": [*meta.get("checks", []), "bad", "ok"]}
    if params.get("function") == "bad":
        return misbehave(method, params)
    if params.get("function") == "ok":
        return {"Pass": None}
    if params.get("function") == "nope":
        return {"Fail": "nope"}
    return handle(method, params)


if __name__ == "__main__":
    serve(handler)
