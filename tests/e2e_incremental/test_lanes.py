"""`-j` runs the calls of an external plugin on several processes of it ("lanes"), sized from the plan, and
gives the same verdicts in the same order as `-j 1`."""

from __future__ import annotations

from pathlib import Path

from kit import Workspace

N = 24


def spec(n: int) -> str:
    # Alternating verdicts, so that an answer handed to the wrong check would show.
    return "".join(
        f"element e{k:02d}:\n    scope s = files.folder_selector('src/core')\n"
        f"    check ext.count_at_least(s, {1 if k % 2 else 5})\n" for k in range(n)
    )


def starts(project: Workspace) -> int:
    return sum(line == "started" for line in project.calls())


def test_many_checks_of_one_plugin_use_several_processes_and_keep_verdicts_and_order(
        tmp_path: Path, module_cache: Path) -> None:
    project = Workspace(tmp_path, module_cache, spec=spec(N))
    serial = project.run("--no-cache", "-j", "1")
    assert starts(project) == 1
    parallel = project.run("--no-cache", "-j", "4")
    # One lane per 8 checks still to run, at most -j: 24 checks → 3 processes.
    assert starts(project) == 1 + 3
    assert parallel.verdicts() == serial.verdicts()
    assert [r["element"] for r in parallel.results] == [f"e{k:02d}" for k in range(N)]
    assert [r["status"] for r in parallel.results] == ["fail" if k % 2 == 0 else "pass" for k in range(N)]


def test_few_checks_to_run_start_one_process_even_with_many_jobs(tmp_path: Path, module_cache: Path) -> None:
    project = Workspace(tmp_path, module_cache, spec=spec(5))
    project.run("--no-cache", "-j", "8")
    assert starts(project) == 1
