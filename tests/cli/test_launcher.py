"""`bin/hie-tasks`, the command pip installs: it runs the same entry point as `python -m hie_tasks`, and a run
the memo (or a daemon) answers loads neither `re` nor the command-line machinery — the wrapper pip would
generate from an entry point imports `re` before anything of ours runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hie_tasks.replay.memo import RACY_WINDOW_NS

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "bin" / "hie-tasks"
SPEC = "element core:\n    scope src = files.folder_selector('src')\n    check files.exists(src, 'a.py')\n"


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HIE_TASKS_DAEMON": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(ws: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *flags, str(LAUNCHER), "run", "spec.hie", "-f", "json",
                           "--cache-dir", str(ws / "store")], cwd=ws, env=_env(), capture_output=True, text=True,
                          timeout=120)


def _imported(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if "|" in line}


def test_the_installed_command_is_the_entry_point_without_re(tmp_path: Path) -> None:
    assert LAUNCHER.read_text().startswith("#!/usr/bin/env python3\n")
    assert os.access(LAUNCHER, os.X_OK)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("A = 1\n")
    (tmp_path / "spec.hie").write_text(SPEC)
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.2)  # files the memo can vouch for by their stat
    full = _run(tmp_path)
    assert full.returncode == 0, full.stderr
    replayed = _run(tmp_path, "-X", "importtime")
    assert replayed.returncode == 0, replayed.stderr
    loaded = _imported(replayed.stderr)
    assert "hie_tasks.replay.memo" in loaded, "answered by the memo"
    # What the interpreter loads before any of ours does not count (an editable install's hook brings `re`).
    start = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], cwd=tmp_path, env=_env(),
                           capture_output=True, text=True, timeout=60)
    assert not (loaded - _imported(start.stderr)) & {"re", "argparse", "hie_tasks.cli.main"}
    assert json.loads(replayed.stdout)["summary"]["cached"] == 1
