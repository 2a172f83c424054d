"""A run killed with SIGKILL half-way, and two runs at once on one store (issue 5, items 6–7)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from kit import RunResult, Workspace, parse_run

#: `-j 1` runs these in order: two quick verdicts are recorded, then the run sits in `slow` long enough to be
#: killed, and three checks after it have not started.
SLOW_SPEC = """\
element before_a:
    scope f = files.file_selector('README.md')
    check files.exists(f, 'README.md')
element before_b:
    scope md = files.glob_selector('docs/*.md')
    check ext.count_at_least(md, 2)
element slow:
    scope src = files.folder_selector('src/util')
    check ext.slow_pass(src, 1.0)
element after_a:
    scope pys = files.glob_selector('src/**/*.py')
    check files.contains(pys, 'a.py')
element after_b:
    scope f = files.file_selector('config/settings.toml')
    check probe.verdict(f)
element after_c:
    scope d = files.folder_selector('docs')
    check files.exists(d, 'CHANGELOG.md')
"""
ELEMENTS = {"before_a", "before_b", "slow", "after_a", "after_b", "after_c"}
DEADLINE_S = 30.0


def slow_project(tmp_path: Path, module_cache: Path) -> Workspace:
    project = Workspace(tmp_path, module_cache)
    project.write("spec.hie", SLOW_SPEC)
    return project


def wait_for_call(project: Workspace, line: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while line not in project.calls():
        assert proc.poll() is None, f"the run ended before '{line}': {proc.communicate()}"
        assert time.monotonic() < deadline, f"no '{line}' within {DEADLINE_S} s"
        time.sleep(0.02)


def finish(proc: subprocess.Popen[str]) -> RunResult:
    out, err = proc.communicate(timeout=DEADLINE_S)
    return parse_run(proc.returncode, out, err)


def test_kill_9_mid_run_keeps_finished_verdicts_and_reruns_the_rest(tmp_path: Path, module_cache: Path) -> None:
    project = slow_project(tmp_path, module_cache)
    proc = project.popen("-j", "1", new_session=True)
    try:
        wait_for_call(project, "slow_pass start", proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=DEADLINE_S)
    finally:
        # The plugin child survives its parent's SIGKILL; it is in the session started for this run.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == -signal.SIGKILL
    assert project.stored_elements() == {"before_a", "before_b"}
    assert project.store_rows("PRAGMA integrity_check") == [("ok",)]

    resumed = project.run("-j", "1")
    assert resumed.replayed() == {"before_a", "before_b"}
    assert resumed.rerun() == ELEMENTS - {"before_a", "before_b"}
    assert resumed.verdicts() == project.run("--no-cache").verdicts()
    assert project.run().replayed() == ELEMENTS


def test_two_concurrent_runs_agree_and_leave_a_usable_store(tmp_path: Path, module_cache: Path) -> None:
    project = slow_project(tmp_path, module_cache)
    procs = [project.popen("-j", "2"), project.popen("-j", "2")]
    first, second = (finish(p) for p in procs)
    # Both really overlapped: each started its own plugin process and ran the slow check.
    assert project.calls().count("slow_pass start") == 2
    reference = project.run("--no-cache")
    assert first.verdicts() == second.verdicts() == reference.verdicts()
    assert first.returncode == second.returncode == reference.returncode == 1
    assert project.store_rows("PRAGMA integrity_check") == [("ok",)]
    third = project.run()
    assert third.replayed() == ELEMENTS
    assert third.verdicts() == reference.verdicts()
