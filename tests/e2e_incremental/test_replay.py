"""Which checks a run replays and which it reruns after real edits to a real workspace (issue 5, items 1–5)."""

from __future__ import annotations

import os

from kit import ALL_ELEMENTS, PROBE_ELEMENTS, RunResult, Workspace

PLUGIN_CHECKS = ["count_at_least docs/*.md", "count_at_least src/util"]


def new_calls(project: Workspace, before: list[str]) -> list[str]:
    calls = project.calls()
    assert calls[: len(before)] == before
    return calls[len(before):]


def step(project: Workspace, what: str, expected: set[str]) -> RunResult:
    result = project.run()
    assert result.rerun() == expected, f"after {what}: reran {sorted(result.rerun())}, expected {sorted(expected)}"
    assert result.replayed() == ALL_ELEMENTS - expected
    return result


def test_second_run_replays_every_verdict_without_calling_any_plugin(project: Workspace) -> None:
    first = project.run()
    assert first.rerun() == ALL_ELEMENTS
    assert first.returncode == 1 and first.status_of("missing") == "fail"
    calls = project.calls()
    assert calls[0] == "started" and sorted(calls[1:]) == PLUGIN_CHECKS

    second = project.run()
    assert second.replayed() == ALL_ELEMENTS
    assert second.report["summary"]["cached"] == len(ALL_ELEMENTS)
    assert second.verdicts() == first.verdicts()
    assert second.returncode == first.returncode
    # Not a single request, not even a process start: replay never touches the plugin.
    assert project.calls() == calls


def test_an_edit_reruns_exactly_the_checks_whose_scope_holds_the_file(project: Workspace) -> None:
    project.run()
    calls = project.calls()

    project.write("src/core/a.py", "x" * 100_001)
    result = step(project, "growing src/core/a.py", {"core", "core_wasm", "python_files"})
    assert result.status_of("core") == "fail"
    assert "src/core/a.py" in next(r["message"] for r in result.results if r["element"] == "core")
    assert new_calls(project, calls) == []

    project.write("src/core/a.py", "A = 1\n")
    assert step(project, "restoring src/core/a.py", {"core", "core_wasm", "python_files"}).status_of("core") == "pass"

    calls = project.calls()
    project.write("docs/guide.md", "# Guide, edited\n")
    step(project, "editing docs/guide.md", {"docs", "missing"})
    assert new_calls(project, calls) == ["started", "count_at_least docs/*.md"]

    project.write("docs/notes.txt", "still not markdown\n")
    step(project, "editing docs/notes.txt", {"missing"})
    project.write("src/util/c.py", "C = 4\n")
    step(project, "editing src/util/c.py", {"util", "python_files"})
    project.write("README.md", "# Renamed\n")
    step(project, "editing README.md", {"readme"})
    project.write("config/settings.toml", "level = 2\n")
    step(project, "editing config/settings.toml", {"settings"})

    # Same bytes, new mtime: the stat cache may notice, but the content digest vouches for the verdicts.
    readme = project.ws / "README.md"
    readme.write_text("# Renamed\n")
    os.utime(readme, ns=(readme.stat().st_atime_ns, readme.stat().st_mtime_ns + 5_000_000_000))
    step(project, "rewriting README.md unchanged", set())


def test_added_and_removed_files_rerun_the_folder_and_glob_scopes_that_match(project: Workspace) -> None:
    project.run()
    project.write("src/util/d.py", "D = 4\n")
    step(project, "adding src/util/d.py", {"util", "python_files"})
    project.write("src/core/data.txt", "not python\n")
    step(project, "adding src/core/data.txt", {"core", "core_wasm"})
    project.write("elsewhere/x.txt", "in no scope\n")
    step(project, "adding elsewhere/x.txt", set())
    (project.ws / "src/util/d.py").unlink()
    step(project, "removing src/util/d.py", {"util", "python_files"})
    project.write("docs/CHANGELOG.md", "# Changes\n")
    result = step(project, "adding docs/CHANGELOG.md", {"docs", "missing"})
    assert result.status_of("missing") == "pass" and result.returncode == 0


def test_a_rebuilt_wasm_plugin_reruns_exactly_its_checks(project: Workspace) -> None:
    project.run()
    calls = project.calls()
    project.set_probe('{"Fail": "probe v2 says no"}')
    result = step(project, "rebuilding probe.wasm", PROBE_ELEMENTS)
    assert {r["message"] for r in result.results if r["element"] in PROBE_ELEMENTS} == {"probe v2 says no"}
    assert new_calls(project, calls) == []
    project.set_probe('{"Fail": "probe v2 says no"}')
    step(project, "rewriting probe.wasm with the same bytes", set())


def test_a_capability_or_limit_change_reruns_that_plugins_checks_only(project: Workspace) -> None:
    project.run()
    calls = project.calls()
    project.configure(limits="max_memory_mb = 128")
    step(project, "lowering max_memory_mb", PROBE_ELEMENTS)
    project.configure(capabilities='fs = "read", env_access = ["HOME"]', limits="max_memory_mb = 128")
    step(project, "granting env_access", PROBE_ELEMENTS)
    project.configure(capabilities='fs = "read", env_access = ["HOME"]', limits="max_memory_mb = 128")
    step(project, "rewriting hielements.toml unchanged", set())
    project.configure()
    step(project, "restoring the defaults", PROBE_ELEMENTS)
    assert new_calls(project, calls) == []
