"""Shared by the CI-at-scale tests: a generated workspace, the real CLI in a subprocess, the SARIF schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-2.1.0.json"
COST_PLUGIN = Path(__file__).resolve().parent / "cost_plugin.py"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    full.pop("HIE_TASKS_SHARD", None)
    full.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "hie_tasks", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def assert_valid_sarif(doc: Any) -> None:
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def generated_workspace(root: Path, elements: int = 14) -> Path:
    """A spec over real files: passes, fails, errors (undefined scope, not a call), a scope that fails to
    evaluate (E200), an unknown import (W001), identical checks in one element, and an imported .hie file."""
    ws = root / "ws"
    lines = ["import files", "import python", "import nothere", "import './more.hie'", ""]
    for i in range(elements):
        pkg = ws / "src" / f"mod{i}"
        pkg.mkdir(parents=True)
        (pkg / "a.py").write_text("import os\n" if i % 2 else "import sys\n")
        (pkg / "b.py").write_text("x = 1\n" * (i + 1))
        lines += [
            f"element mod{i}:",
            f"    scope src = files.folder_selector('src/mod{i}')",
            f"    scope code = python.module_selector('mod{i}.a')",
            "    check files.exists(src, 'a.py')",
            f"    check files.exists(src, 'c{i % 3}.py')" if i % 3 else "    check files.exists(src, 'b.py')",
            "    check python.imports(code, 'os')",
        ]
        if i % 5 == 0:
            lines.append("    check files.exists(nosuch, 'x')")  # an Error verdict: the scope is undefined
        if i % 4 == 1:
            lines += ["    check files.exists(src, 'z.py')", "    check files.exists(src, 'z.py')"]
        if i == 3:
            lines += ["    scope broken = files.file_selector(undefined_name)"]
        if i % 6 == 2:
            lines += [f"    element inner{i}:", "        check files.max_size(src, 1)",
                      "        check files.exists(src, 'b.py')"]
        lines.append("")
    (ws / "spec.hie").write_text("\n".join(lines))
    (ws / "more.hie").write_text(
        "import files\n\nelement extra:\n    scope all = files.glob_selector('src/**/*.py')\n"
        "    check files.contains(all, 'a.py')\n    check files.no_files_matching(all, '*.pyc')\n"
        "    check 'not a call'\n"
    )
    return ws


def result_keys(report: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    return [(r["element"], r["check"], r["file"], r["line"]) for r in report["results"]]


def verdicts(report: dict[str, Any]) -> dict[tuple[str, str, str, int], tuple[str, str | None]]:
    return {(r["element"], r["check"], r["file"], r["line"]): (r["status"], r["message"]) for r in report["results"]}


def without_durations(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_durations(v) for k, v in value.items() if k != "duration_ms"}
    if isinstance(value, list):
        return [without_durations(v) for v in value]
    return value
