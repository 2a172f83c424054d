"""`hie_tasks.nox.session()` adds a working `hielements` session to a user's noxfile in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import REPO

NOXFILE = """\
import hie_tasks.nox

hie_tasks.nox.session(spec="arch.hie", install=(), args=("-f", "json"))
hie_tasks.nox.session("hielements-strict", spec="arch.hie", install=(), args=("--no-cache",))
"""


def nox(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(tmp_path / "noxfile.py"), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )


def test_session_is_registered(tmp_path: Path) -> None:
    (tmp_path / "noxfile.py").write_text(NOXFILE)
    r = nox(tmp_path, "-l")
    assert r.returncode == 0, r.stderr
    assert "* hielements" in r.stdout and "hielements-strict" in r.stdout


@pytest.mark.skipif(shutil.which("hie-tasks") is None, reason="needs the hie-tasks command installed (nox -s tests)")
def test_session_runs_the_checks(tmp_path: Path) -> None:
    (tmp_path / "noxfile.py").write_text(NOXFILE)
    (tmp_path / "arch.hie").write_text("element e:\n    check files.exists(files.folder_selector('.'), 'arch.hie')\n")
    r = nox(tmp_path, "-s", "hielements", "--no-venv")
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"passed": 1' in r.stdout
    (tmp_path / "arch.hie").write_text("element e:\n    check files.exists(files.folder_selector('.'), 'gone')\n")
    r = nox(tmp_path, "-s", "hielements", "--no-venv")
    assert r.returncode != 0
