"""The cyclic collector is paused while a one-shot command parses, plans and runs, and a long-lived process
(watch) gets it back for the objects of older runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import gc, json, sys
from hie_tasks.engine.project import Project, ProjectOptions
from hie_tasks.engine.runner import RunOptions

seen = []
def run():
    with Project(sys.argv[1], ProjectOptions(cache_dir=sys.argv[2], run=RunOptions(jobs=1))) as project:
        plan = project.plan(project.load_spec())
        report = project.run_plan(plan)
    seen.append({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                 "verdicts": [o.status.value for o in report.outcomes]})

run()
run()
print(json.dumps({"runs": seen}))
"""


def test_first_run_freezes_what_it_built_and_a_second_run_releases_it(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    lines = []
    for i in range(300):
        (ws / f"p{i}").mkdir(parents=True)
        (ws / f"p{i}" / "a.py").write_text("x = 1\n")
        lines += [f"element p{i}:", f"    scope s = files.folder_selector('p{i}')",
                  "    check files.exists(s, 'a.py')", "    check files.exists(s, 'b.py')"]
    spec = ws / "s.hie"
    spec.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(spec), str(tmp_path / "cache")], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    first, second = out["runs"]
    assert first["enabled"] and second["enabled"]
    assert first["frozen"] > 10_000  # the spec, the plan and the run's results
    assert second["frozen"] == 0  # a later run in the same process unfreezes, so old cycles can go
    assert first["verdicts"] == second["verdicts"] == ["pass", "fail"] * 300
