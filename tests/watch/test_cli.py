"""`hie-tasks watch` as a user runs it: a real process, real edits, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from .conftest import TIMEOUT, write_tree

REPO = Path(__file__).resolve().parents[2]


class LineReader:
    """Reads a process's stdout on a thread so waits can time out instead of blocking forever."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.lines) >= count, TIMEOUT), self.lines
            return list(self.lines)


def test_json_watch_process_and_clean_ctrl_c(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write_tree(ws, {
        "src/a.py": "a = 1\n",
        "hielements.hie": "element app:\n    scope src = files.folder_selector('src')\n"
                          "    check files.exists(src, 'a.py')\n",
    })
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIE_TASKS_MODULE_CACHE": str(tmp_path / "mc")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hie_tasks", "watch", str(ws / "hielements.hie"), "--format", "json",
         "--debounce-ms", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        reader = LineReader(proc.stdout)
        first = json.loads(reader.wait_for(1)[0])
        assert first["cycle"] == 0 and first["summary"]["passed"] == 1
        (ws / "src" / "a.py").unlink()
        second = json.loads(reader.wait_for(2)[1])
        assert second["changed"] == ["src/a.py"]
        assert [(r["element"], r["status"]) for r in second["reran"]] == [("app", "fail")]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(TIMEOUT) == 0
        stderr = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Every run the watcher started was ended: the store is consistent.
    with sqlite3.connect(ws / ".hie-cache" / "results.sqlite") as db:
        runs = db.execute("SELECT COUNT(*), COUNT(finished) FROM runs").fetchone()
    assert runs[0] == 2 and runs[1] == 2
