"""An Error a built-in gives as its answer is replayed like any verdict; an Error that is a failure to answer
is not (issue 14: the rust tree's no-op reran every "Source scope has no paths").

The real CLI in subprocesses, with the run memo off: this is the result store's own rule.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kit import CLI_TIMEOUT_S, ROOT

GLOB_SPEC = """\
element e:
    scope d = files.folder_selector('src')
    check files.no_files_matching(d, 'a[')
"""

RUST_SPEC = """\
import rust
element e:
    scope src = files.folder_selector('src')
    scope t = files.file_selector('src/b.rs')
    check rust.depends_on(src, t)
"""


def run(ws: Path) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HIE_TASKS_RUN_MEMO": "0"}
    proc = subprocess.run([sys.executable, "-m", "hie_tasks", "run", str(ws / "spec.hie"), "-f", "json"],
                          cwd=ws, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert proc.returncode == 1, proc.stderr
    return list(json.loads(proc.stdout)["results"])


def test_a_builtins_own_error_is_replayed_until_its_inputs_change(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.txt").write_text("x\n")
    (tmp_path / "spec.hie").write_text(GLOB_SPEC)
    first = run(tmp_path)
    assert [(r["status"], r["message"], r["cached"]) for r in first] == [
        ("error", "Invalid glob pattern: a[", False)]
    again = run(tmp_path)
    assert [(r["status"], r["message"], r["cached"]) for r in again] == [
        ("error", "Invalid glob pattern: a[", "local")]
    (tmp_path / "src/b.txt").write_text("y\n")  # the scope changed: asked again
    assert [r["cached"] for r in run(tmp_path)] == [False]


def test_an_error_that_is_a_failure_to_read_is_never_replayed(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.rs").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "src/b.rs").write_text("pub fn b() {}\n")
    (tmp_path / "spec.hie").write_text(RUST_SPEC)
    for _ in range(2):
        (result,) = run(tmp_path)
        assert result["status"] == "error" and result["message"].startswith("Could not read file")
        assert result["cached"] is False
