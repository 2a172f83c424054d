from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path | None = None, tool: str = "hie_tasks") -> Result:
    """The real command line in a real subprocess (entry points are thin wrappers over these modules)."""
    module = "hie_tasks" if tool == "hie_tasks" else "hie_tasks.cli.upstream"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    # Commands read ./hielements.toml; never let the caller's directory (e.g. this repository) leak in.
    with tempfile.TemporaryDirectory() as empty:
        proc = subprocess.run(
            [sys.executable, "-m", module, *args], cwd=cwd or empty, env=env, capture_output=True, text=True,
            timeout=120,
        )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src" / "orders").mkdir(parents=True)
    (ws / "src" / "orders" / "api.py").write_text("import typing\n\ndef get() -> int:\n    return 1\n")
    (ws / "src" / "orders" / "db.py").write_text("import sqlite3\n")
    (ws / "README.md").write_text("# demo\n")
    (ws / "spec.hie").write_text(
        "import files\n"
        "import python\n"
        "\n"
        "element orders:\n"
        "    scope src = files.folder_selector('src/orders')\n"
        "    scope api = python.module_selector('orders.api')\n"
        "    check files.exists(src, 'api.py')\n"
        "    check files.exists(src, 'missing.py')\n"
        "    check python.imports(api, 'typing')\n"
        "    check python.no_import(api, 'typing')\n"
        "    element storage:\n"
        "        check files.max_size(src, 2.5)\n"
        "        check files.exists(nosuch, 'x')\n"
    )
    return ws
