"""Watch mode end to end: real files, real watchdog events, a real incremental pipeline."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from hie_tasks.engine.project import Project, ProjectOptions
from hie_tasks.engine.results import RunReport
from hie_tasks.watch.events import DebounceSettings
from hie_tasks.watch.loop import Watcher
from hie_tasks.watch.report import JsonSink

from .conftest import Harness, poll, reran_set, utime_later, write_tree

TWO_SCOPES = """\
element alpha:
    scope code = files.folder_selector('alpha')
    check files.exists(code, 'main.py')
    check files.max_size(code, 1000)

element beta:
    scope code = files.folder_selector('beta')
    check files.exists(code, 'main.py')

element gen:
    scope out = files.glob_selector('gen/*.txt')
    check files.exists(out, 'wanted.txt')
"""

FILES = {
    "alpha/main.py": "print('a')\n",
    "alpha/util.py": "x = 1\n",
    "beta/main.py": "print('b')\n",
    "gen/other.txt": "o\n",
    ".gitignore": "build/\n*.log\n",
}

def fresh_verdicts(workspace: Path) -> list[tuple[str, str, str, str | None]]:
    """What a fresh `run` says, without any store: the reference watch output must equal."""
    with Project(str(workspace / "hielements.hie"), ProjectOptions(use_store=False)) as project:
        report = project.run_plan(project.plan(project.load_spec()))
    return verdicts(report)


def verdicts(report: RunReport | None) -> list[tuple[str, str, str, str | None]]:
    assert report is not None
    return [(o.element, o.check, o.status.value, o.message) for o in report.outcomes]


ALPHA = {"alpha :: files.exists(code, 'main.py')", "alpha :: files.max_size(code, 1000)"}


def setup(workspace: Path, spec: str = TWO_SCOPES) -> None:
    write_tree(workspace, {**FILES, "hielements.hie": spec})


def test_initial_cycle_runs_everything_and_reports_state(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace)
    h = harness_factory()
    first = h.start()
    assert first.number == 0 and first.report is not None
    assert first.report.totals.total == 4
    assert (first.report.totals.passed, first.report.totals.failed) == (3, 1)


def test_modifying_a_file_reruns_only_that_scopes_checks(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    h.write("alpha/util.py", "x = 2\n")
    cycle = h.next_cycle()
    assert cycle.changed == ["alpha/util.py"]
    assert reran_set(cycle) == ALPHA
    assert cycle.report is not None and cycle.report.totals.total == 4

    h.write("alpha/util.py", "x" * 2000)
    cycle = h.next_cycle()
    assert reran_set(cycle) == ALPHA
    failing = [o for o in cycle.reran if o.status.value == "fail"]
    assert [o.check for o in failing] == ["files.max_size(code, 1000)"]
    assert "exceeds maximum size" in (failing[0].message or "")
    assert verdicts(cycle.report) == fresh_verdicts(workspace)
    # Deleting the file the other alpha check needs, and adding one in beta, in one burst.
    (workspace / "alpha" / "main.py").unlink()
    h.write("beta/extra.py", "z = 0\n")
    cycle = h.next_cycle()
    assert cycle.changed == ["alpha/main.py", "beta/extra.py"]
    assert reran_set(cycle) == ALPHA | {"beta :: files.exists(code, 'main.py')"}
    assert verdicts(cycle.report) == fresh_verdicts(workspace)


def test_new_file_matching_a_glob_changes_the_verdict(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace)
    h = harness_factory()
    first = h.start()
    assert first.report is not None
    before = {o.element: o.status.value for o in first.report.outcomes if o.element == "gen"}
    assert before == {"gen": "fail"}
    h.write("gen/wanted.txt", "w\n")
    cycle = h.next_cycle()
    assert cycle.changed == ["gen/wanted.txt"]
    assert reran_set(cycle) == {"gen :: files.exists(out, 'wanted.txt')"}
    assert [o.status.value for o in cycle.reran] == ["pass"]
    assert cycle.report is not None and cycle.report.ok
    assert verdicts(cycle.report) == fresh_verdicts(workspace)


def test_atomic_save_is_one_change_in_one_cycle(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    target = workspace / "beta" / "main.py"
    for temp in (".main.py.swp", "main.py~", "main.py.tmp", "4913"):
        tmp = workspace / "beta" / temp
        tmp.write_text("print('saved')\n")
        if temp == ".main.py.swp":
            os.replace(tmp, target)
        else:
            tmp.unlink()
    utime_later(target)
    cycle = h.next_cycle()
    assert cycle.number == 1
    assert cycle.changed == ["beta/main.py"]
    assert reran_set(cycle) == {"beta :: files.exists(code, 'main.py')"}
    # A later, unrelated edit is cycle 2: the save produced no second cycle.
    h.write("alpha/main.py", "print('again')\n")
    nxt = h.next_cycle()
    assert (nxt.number, nxt.changed) == (2, ["alpha/main.py"])
    assert len(h.recorder.cycles) == 3


def test_spec_edit_adding_a_check_runs_it(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    h.write("hielements.hie", TWO_SCOPES + "\nelement delta:\n    scope d = files.file_selector('beta/main.py')\n"
            "    check files.exists(d, 'main.py')\n")
    cycle = h.next_cycle()
    assert cycle.changed == ["hielements.hie"]
    assert reran_set(cycle) == {"delta :: files.exists(d, 'main.py')"}
    assert cycle.report is not None and cycle.report.totals.total == 5
    # The new check's scope is indexed at once: touching its file reruns it.
    h.write("beta/main.py", "print('changed')\n")
    cycle = h.next_cycle()
    assert reran_set(cycle) == {"beta :: files.exists(code, 'main.py')", "delta :: files.exists(d, 'main.py')"}


def test_broken_spec_reports_diagnostics_and_fixing_it_resumes(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    h.write("hielements.hie", TWO_SCOPES + "\nelement broken\n    check files.exists(\n")
    cycle = h.next_cycle()
    assert cycle.error is None
    assert cycle.kept_previous
    assert any(d.is_error for d in cycle.diagnostics)
    assert cycle.report is not None and cycle.report.totals.total == 4  # the previous plan stays in force
    # Still watching with the old plan: a scope edit reruns its checks.
    h.write("alpha/util.py", "y = 1\n")
    cycle = h.next_cycle()
    assert reran_set(cycle) == ALPHA
    h.write("hielements.hie", TWO_SCOPES + "\nelement fixed:\n    scope f = files.folder_selector('beta')\n"
            "    check files.exists(f, 'missing.py')\n")
    cycle = h.next_cycle()
    assert not cycle.kept_previous and not any(d.is_error for d in cycle.diagnostics)
    assert reran_set(cycle) == {"fixed :: files.exists(f, 'missing.py')"}
    assert cycle.report is not None and cycle.report.totals.failed == 2


def test_broken_config_keeps_previous_project(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    h.write("hielements.toml", "[libraries]\nbad = { type = 'nonsense' }\n")
    cycle = h.next_cycle()
    assert cycle.changed == ["hielements.toml"]
    assert cycle.kept_previous and any(d.is_error for d in cycle.diagnostics)
    assert cycle.report is not None and cycle.report.totals.total == 4
    h.write("hielements.toml", "[libraries]\n")
    cycle = h.next_cycle()
    assert not cycle.kept_previous and cycle.report is not None and cycle.reran == []


def test_ignored_and_unrelated_changes_start_no_cycle(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    for rel in ("build/out.o", "debug.log", ".git/index", "tools/__pycache__/util.cpython-311.pyc", "docs/x.md"):
        skipped = h.watcher.skipped_bursts
        h.write(rel, "noise\n")
        poll(lambda s=skipped: h.watcher.skipped_bursts > s)  # type: ignore[misc]
    assert len(h.recorder.cycles) == 1


def test_a_scope_selecting_an_ignored_dir_wins(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace, TWO_SCOPES + "\nelement out:\n    scope b = files.folder_selector('build')\n"
          "    check files.exists(b, 'out.o')\n")
    h = harness_factory()
    first = h.start()
    assert first.report is not None and first.report.totals.failed == 2
    h.write("build/out.o", "binary\n")
    cycle = h.next_cycle()
    assert cycle.changed == ["build/out.o"]
    assert [(o.element, o.status.value) for o in cycle.reran] == [("out", "pass")]


def test_json_stream_one_object_per_cycle(workspace: Path, tmp_path: Path) -> None:
    setup(workspace)
    stream_path = tmp_path / "cycles.jsonl"
    spec = str(workspace / "hielements.hie")
    options = ProjectOptions(module_cache_dir=str(tmp_path / "modcache"))
    with open(stream_path, "w", encoding="utf-8") as stream:
        watcher = Watcher(lambda: Project(spec, options), JsonSink(stream), debounce=DebounceSettings(quiet_ms=100))
        with watcher:
            watcher.start()
            # Flushed per cycle: a reader sees cycle 0 before anything else happens.
            assert len(stream_path.read_text().splitlines()) == 1
            (workspace / "beta" / "main.py").write_text("print('json')\n")
            assert watcher.run_cycles(max_cycles=1, timeout=30) == 1
    lines = [json.loads(line) for line in stream_path.read_text().splitlines()]
    assert [line["cycle"] for line in lines] == [0, 1]
    assert len(lines[0]["results"]) == 4
    second = lines[1]
    assert set(second) >= {"cycle", "changed", "reran", "summary", "diagnostics"}
    assert second["changed"] == ["beta/main.py"]
    assert [(r["element"], r["status"], r["cached"]) for r in second["reran"]] == [("beta", "pass", False)]
    assert {k: second["summary"][k] for k in ("total", "passed", "failed", "errors")} == {
        "total": 4, "passed": 3, "failed": 1, "errors": 0,
    }
    assert second["diagnostics"] == []


def test_deleted_spec_is_reported_and_recreating_it_resumes(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    (workspace / "hielements.hie").unlink()
    cycle = h.next_cycle()
    assert cycle.error is not None and "hielements.hie" in cycle.error
    assert cycle.kept_previous and cycle.report is not None
    h.write("hielements.hie", TWO_SCOPES.replace("'wanted.txt'", "'other.txt'"))
    cycle = h.next_cycle()
    assert cycle.error is None and cycle.report is not None and cycle.report.ok
    assert reran_set(cycle) == {"gen :: files.exists(out, 'other.txt')"}


def test_replan_evaluates_only_the_selectors_a_change_can_affect(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    setup(workspace)
    h = harness_factory()
    first = h.start()
    assert first.selectors_evaluated == 3  # alpha, beta, gen
    # A content edit of a listed file changes no listing: the previous plan stays, no selector runs.
    h.write("alpha/util.py", "x = 3\n")
    edit = h.next_cycle()
    assert edit.selectors_evaluated is None
    assert reran_set(edit) == ALPHA
    # A new file in gen/ changes only gen's listing: one selector runs again, and the new scope is seen.
    h.write("gen/wanted.txt", "w\n")
    added = h.next_cycle()
    assert added.selectors_evaluated == 1
    assert reran_set(added) == {"gen :: files.exists(out, 'wanted.txt')"}
    assert verdicts(added.report) == fresh_verdicts(workspace)
    # A removal is a listing change too.
    (workspace / "beta" / "main.py").unlink()
    removed = h.next_cycle()
    assert removed.selectors_evaluated == 1
    assert verdicts(removed.report) == fresh_verdicts(workspace)


def test_a_check_reading_beyond_its_scope_reruns_when_that_file_changes(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    """`files.exists(src, '../other/x.py')` reads a file no scope covers: only the reads recorded with its
    verdict (workspace-relative in the store) tie it to `other/x.py`, and they must be taken as workspace paths."""
    write_tree(workspace, {"src/a.py": "a = 1\n", "hielements.hie":
                           "element app:\n    scope src = files.folder_selector('src')\n"
                           "    check files.exists(src, '../other/x.py')\n"})
    h = harness_factory()
    first = h.start()
    assert first.report is not None and [o.status.value for o in first.report.outcomes] == ["fail"]
    index = h.watcher.runner.index
    assert index is not None and index.outside == {}
    assert index.knows(str(workspace / "other" / "x.py"))
    h.write("other/x.py", "x = 1\n")
    cycle = h.next_cycle()
    assert cycle.changed == ["other/x.py"]
    assert [o.status.value for o in cycle.reran] == ["pass"]
    assert verdicts(cycle.report) == fresh_verdicts(workspace)


def test_a_directory_renamed_away_and_back_clears_its_empty_scope_warning(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    """Renamed away, `pkg`'s scope is empty (W010) and the plan carries that diagnostic; renamed back, the
    re-plan must not answer `folder_selector('src/pkg')` from the memo's empty listing."""
    write_tree(workspace, {"src/a.py": "a = 1\n", "src/pkg/c.py": "c = 1\n", "hielements.hie":
                           "element app:\n    scope src = files.folder_selector('src')\n"
                           "    check files.exists(src, 'a.py')\n"
                           "    element pkg:\n        scope p = files.folder_selector('src/pkg')\n"
                           "        check files.exists(p, 'c.py')\n"})
    h = harness_factory()
    h.start()
    runner = h.watcher.runner
    (workspace / "src" / "pkg").rename(workspace / "src" / "pkg2")
    away = h.next_cycle()
    assert [d.code for d in away.diagnostics] == ["W010"]
    assert runner.plan is not None and [d.code for d in runner.plan.diagnostics] == ["W010"]
    (workspace / "src" / "pkg2").rename(workspace / "src" / "pkg")
    back = h.next_cycle()
    assert back.diagnostics == [] and runner.plan is not None and runner.plan.diagnostics == []
    assert verdicts(back.report) == fresh_verdicts(workspace)
    assert [o.status.value for o in back.report.outcomes] == ["pass", "pass"]


def test_after_a_replay_cycle_nothing_is_left_to_replay(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    """What the daemon asks before answering a no-op: once a cycle has shown the last fresh verdicts as
    replayed, a fresh run would just replay that report, so no further cycle is due."""
    setup(workspace)
    h = harness_factory()
    h.start()
    h.write("alpha/util.py", "x = 2\n")
    cycle = h.next_cycle()
    assert reran_set(cycle) == ALPHA
    runner = h.watcher.runner
    with h.watcher.lock:
        assert runner.replay_differs()
        replayed = runner.run_cycle(99, {})
        assert replayed.report is not None and all(o.cached for o in replayed.report.outcomes)
        assert replayed.report.totals.cached == replayed.report.totals.total == 4
        assert not runner.replay_differs()
    assert verdicts(replayed.report) == fresh_verdicts(workspace)
