"""`--no-cache`, `--refresh`, `explain` and `-j` through the real CLI (issue 5, items 8–9)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from kit import ALL_ELEMENTS, RunResult, Workspace

STORE_FILES = ("results.sqlite", "results.sqlite-wal")


def store_snapshot(project: Workspace) -> tuple[Any, ...]:
    """Everything a run could write: the verdict rows, the run history and the files' size and mtime."""
    # Opening a WAL database, even read-only, creates an empty -wal file; let that happen before looking.
    project.store_rows("SELECT count(*) FROM runs")
    files = []
    for name in STORE_FILES:
        path = project.store / name
        files.append((name, path.stat().st_size, path.stat().st_mtime_ns) if path.exists() else (name, None))
    return (
        project.store_rows("SELECT key, fingerprint, recorded_at FROM verdicts ORDER BY key"),
        project.store_rows("SELECT id, started, finished FROM runs ORDER BY id"),
        files,
    )


def layout(result: RunResult) -> list[tuple[Any, ...]]:
    return [(r["element"], r["check"], r["status"], r["message"], r["file"], r["line"], r["column"], r["library"])
            for r in result.results]


def test_no_cache_runs_everything_and_leaves_the_store_untouched(project: Workspace) -> None:
    first = project.run()
    before, calls = store_snapshot(project), project.calls()
    result = project.run("--no-cache")
    assert result.rerun() == ALL_ELEMENTS
    assert result.verdicts() == first.verdicts()
    assert len(project.calls()) == len(calls) + 3  # a fresh plugin process and both of its checks
    assert store_snapshot(project) == before
    assert project.run().replayed() == ALL_ELEMENTS


def test_refresh_runs_everything_and_rewrites_the_store(project: Workspace) -> None:
    project.run()
    recorded = dict(project.store_rows("SELECT key, recorded_at FROM verdicts"))
    runs = len(project.store_rows("SELECT id FROM runs"))
    result = project.run("--refresh")
    assert result.rerun() == ALL_ELEMENTS
    rewritten = dict(project.store_rows("SELECT key, recorded_at FROM verdicts"))
    assert rewritten.keys() == recorded.keys()
    assert all(rewritten[key] > recorded[key] for key in recorded)
    assert len(project.store_rows("SELECT id FROM runs")) == runs + 1
    assert project.run().replayed() == ALL_ELEMENTS


def test_explain_names_the_edited_file(project: Workspace) -> None:
    project.run()
    assert all(e["now"].startswith("would replay") for e in project.explain().values())
    project.write("src/core/a.py", "A = 2\n")
    now = {element: entry["now"] for element, entry in project.explain().items()}
    for element in ("core", "core_wasm", "python_files"):
        assert now[element].startswith("would rerun") and "src/core/a.py modified" in now[element], now[element]
    assert all(now[e].startswith("would replay") for e in ALL_ELEMENTS - {"core", "core_wasm", "python_files"})
    # explain writes nothing: the run after it still sees the edit and reruns, and then explain reports why.
    assert project.run().rerun() == {"core", "core_wasm", "python_files"}
    last = project.explain()["core"]["last_run"]
    assert last.startswith("reran") and "src/core/a.py modified" in last, last
    project.write("src/util/new.py", "N = 1\n")
    assert "src/util/new.py added" in project.explain()["util"]["now"]


def test_job_count_changes_nothing_but_speed(project: Workspace) -> None:
    serial = project.run("--no-cache", "-j", "1")
    parallel = project.run("--no-cache", "-j", "4")
    assert layout(parallel) == layout(serial)
    cold = project.run("-j", "4")
    warm = project.run("-j", "1")
    assert layout(cold) == layout(warm) == layout(serial)
    assert cold.rerun() == ALL_ELEMENTS and warm.replayed() == ALL_ELEMENTS
    assert os.path.exists(project.store / "results.sqlite")


def test_parallel_checks_of_one_plugin_record_a_replayable_identity(tmp_path: Path, module_cache: Path) -> None:
    """Many checks of one WASM plugin start at once on a cold library; every verdict must replay next run."""
    many = "".join(
        f"element e{k}:\n    scope f = files.file_selector('README.md')\n    check probe.verdict(f)\n" for k in range(40)
    )
    project = Workspace(tmp_path, module_cache, spec=many)
    elements = {f"e{k}" for k in range(40)}
    for _attempt in range(3):  # it was a race: give it three cold starts to show up in
        shutil.rmtree(project.store, ignore_errors=True)
        assert project.run("-j", "4").rerun() == elements
        assert project.run("-j", "4").replayed() == elements
