"""The plan cache (engine/cachedplan.py, incremental/plancache.py) never serves a plan a fresh one differs from.

Each case plans once (the plan is stored), changes the workspace the way a user would, and runs again: the
verdicts, scopes and diagnostics must equal those of a run without any cache, and the stored plan must not
have been reused when something it was made from changed. Real files, real directories, the real store.

The racy window is shortened to 50 ms (the tests sleep past it before the recording run): with the real 2 s
every plan made right after writing the workspace is — correctly — not stored, which one test checks.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hie_tasks.cli.loading import load_spec_or_exit
from hie_tasks.engine.cachedspec import CachedSpecSet
from hie_tasks.engine.project import ProjectOptions
from hie_tasks.incremental import plancache
from hie_tasks.incremental.digests import RACY_WINDOW_NS
from hie_tasks.model.values import Scope

SPEC = """import files
import python

element app:
    scope src = files.folder_selector('src')
    scope docs = files.glob_selector('docs/**/*.md')
    scope handlers = python.function_selector('handle_order')
    check files.exists(src, 'a.py')
    check files.exists(src, 'c.py')
    check files.exists(docs, 'guide.md')
    check files.exists(handlers, 'b.py')
    check files.max_size(src, 1000)

element lib:
    scope code = files.folder_selector('lib')
    check files.exists(code, 'x.py')
"""


@dataclass
class Outcome:
    reused: bool
    #: the spec came from the spec cache / its syntax trees were never parsed in the run
    spec_cached: bool
    spec_unparsed: bool
    spec_diagnostics: list[dict[str, Any]]
    not_cached: str | None
    verdicts: list[tuple[str, str, str, str | None]]
    scopes: dict[str, Any]
    diagnostics: list[dict[str, Any]]
    warnings: list[str]


def run(ws: Path, *, use_store: bool = True, element_filter: str | None = None) -> Outcome:
    options = ProjectOptions(workspace=str(ws), use_store=use_store, element_filter=element_filter)
    spec, project = load_spec_or_exit(str(ws / "arch.hie"), None, True, options)
    with project:
        plan = project.plan(spec)
        report = project.run_plan(plan)
        keys = plan.scopes.keys()
        scopes = {key: (v.paths if isinstance(v, Scope) else v) for key in keys for v in [plan.scopes.get(key)]}
        cached = isinstance(spec, CachedSpecSet)
        return Outcome(
            project.plan_reused, cached, cached and spec._files is None, [d.to_json() for d in spec.diagnostics],
            project.plan_not_cached,
            [(o.element, o.check, o.status.value, o.message) for o in report.outcomes],
            scopes, [d.to_json() for d in report.diagnostics], project.late_warnings(),
        )


def assert_as_fresh(ws: Path, got: Outcome, element_filter: str | None = None) -> None:
    fresh = run(ws, use_store=False, element_filter=element_filter)
    assert got.verdicts == fresh.verdicts
    assert got.scopes == fresh.scopes
    assert got.diagnostics == fresh.diagnostics
    assert got.spec_diagnostics == fresh.spec_diagnostics


def settle() -> None:
    time.sleep(0.12)


@pytest.fixture(autouse=True)
def short_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plancache, "WINDOW_NS", 50_000_000)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    files = {
        "arch.hie": SPEC,
        "src/a.py": "import os\n",
        "src/b.py": "def handle_order(x):\n    return x\n",
        "src/pkg/deep.py": "X = 1\n",
        "docs/guide.md": "# guide\n",
        "lib/x.py": "Y = 2\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def recorded(ws: Path, element_filter: str | None = None) -> Outcome:
    """Plan once so that the plan is stored, and check the next run reuses it. (The very first run creates
    the store inside the workspace, which changes the workspace directory just before planning.)"""
    run(ws, element_filter=element_filter)
    settle()
    first = run(ws, element_filter=element_filter)
    assert first.not_cached is None, first.not_cached
    again = run(ws, element_filter=element_filter)
    assert again.reused
    assert_as_fresh(ws, again, element_filter)
    return again


def changed(ws: Path, element_filter: str | None = None) -> Outcome:
    got = run(ws, element_filter=element_filter)
    assert not got.reused
    assert_as_fresh(ws, got, element_filter)
    return got


def status(outcome: Outcome, check: str) -> str:
    return next(v[2] for v in outcome.verdicts if v[1] == check)


def test_a_no_op_reuses_the_plan_with_the_same_verdicts(ws: Path) -> None:
    got = recorded(ws)
    assert status(got, "files.exists(src, 'c.py')") == "fail"
    assert not got.warnings
    # Spec and plan both reused: the spec's syntax trees were never built.
    assert got.spec_cached and got.spec_unparsed


def test_spec_warnings_are_reported_from_a_cached_spec(ws: Path) -> None:
    spec = ws / "arch.hie"
    spec.write_text("import './later.hie'\n" + spec.read_text())
    got = recorded(ws)
    assert got.spec_cached
    assert [d["code"] for d in got.spec_diagnostics] == ["W004"]


def test_an_import_that_names_no_file_until_it_is_created(ws: Path) -> None:
    spec = ws / "arch.hie"
    spec.write_text("import './later.hie'\n" + spec.read_text())
    recorded(ws)
    (ws / "later.hie").write_text("import files\nelement later:\n    scope s = files.folder_selector('lib')\n"
                                  "    check files.exists(s, 'x.py')\n")
    got = changed(ws)
    assert not got.spec_cached and not got.spec_diagnostics
    assert status(got, "files.exists(s, 'x.py')") == "pass"


def test_spec_rewritten_with_the_same_size_and_mtime(ws: Path) -> None:
    recorded(ws)
    spec = ws / "arch.hie"
    st = spec.stat()
    text = spec.read_text().replace("exists(code, 'x.py')", "exists(code, 'y.py')")
    spec.write_text(text)
    os.utime(spec, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert spec.stat().st_size == st.st_size
    got = changed(ws)
    assert not got.spec_cached
    assert status(got, "files.exists(code, 'y.py')") == "fail"


def test_an_imported_spec_edited(ws: Path) -> None:
    (ws / "more.hie").write_text("import files\nelement extra:\n    scope s = files.folder_selector('lib')\n"
                                 "    check files.exists(s, 'x.py')\n")
    spec = ws / "arch.hie"
    spec.write_text("import './more.hie'\n" + spec.read_text())
    recorded(ws)
    (ws / "more.hie").write_text((ws / "more.hie").read_text().replace("'x.py'", "'q.py'"))
    got = changed(ws)
    assert not got.spec_cached
    assert status(got, "files.exists(s, 'q.py')") == "fail"


def test_hielements_toml_edited(ws: Path) -> None:
    (ws / "hielements.toml").write_text("# one\n")
    recorded(ws)
    (ws / "hielements.toml").write_text("# two\n")
    changed(ws)


def test_a_file_added_to_a_scoped_folder(ws: Path) -> None:
    recorded(ws)
    (ws / "src" / "c.py").write_text("Z = 3\n")
    got = changed(ws)
    assert status(got, "files.exists(src, 'c.py')") == "pass"


def test_a_file_added_to_a_nested_folder(ws: Path) -> None:
    recorded(ws)
    (ws / "src" / "pkg" / "c.py").write_text("Z = 3\n")
    got = changed(ws)
    assert str(ws / "src" / "pkg" / "c.py") in got.scopes["app.src"]


def test_a_file_removed_from_a_scoped_folder(ws: Path) -> None:
    recorded(ws)
    (ws / "src" / "a.py").unlink()
    got = changed(ws)
    assert status(got, "files.exists(src, 'a.py')") == "fail"


def test_a_new_folder_a_glob_now_matches(ws: Path) -> None:
    recorded(ws)
    (ws / "docs" / "more").mkdir()
    (ws / "docs" / "more" / "extra.md").write_text("x\n")
    got = changed(ws)
    assert str(ws / "docs" / "more" / "extra.md") in got.scopes["app.docs"]


def test_a_file_renamed(ws: Path) -> None:
    recorded(ws)
    (ws / "src" / "a.py").rename(ws / "src" / "c.py")
    got = changed(ws)
    assert status(got, "files.exists(src, 'a.py')") == "fail"
    assert status(got, "files.exists(src, 'c.py')") == "pass"


def test_a_file_moved_between_two_scoped_folders(ws: Path) -> None:
    recorded(ws)
    (ws / "lib" / "x.py").rename(ws / "src" / "x.py")
    got = changed(ws)
    assert status(got, "files.exists(code, 'x.py')") == "fail"


def test_a_directory_replaced_by_a_file(ws: Path) -> None:
    recorded(ws)
    (ws / "src" / "pkg" / "deep.py").unlink()
    (ws / "src" / "pkg").rmdir()
    (ws / "src" / "pkg").write_text("now a file\n")
    got = changed(ws)
    assert str(ws / "src" / "pkg") in got.scopes["app.src"]


def test_a_scope_root_created_after_it_was_absent(ws: Path) -> None:
    (ws / "lib" / "x.py").unlink()
    (ws / "lib").rmdir()
    got = recorded(ws)
    assert status(got, "files.exists(code, 'x.py')") == "fail"
    (ws / "lib").mkdir()
    (ws / "lib" / "x.py").write_text("Y = 2\n")
    got = changed(ws)
    assert status(got, "files.exists(code, 'x.py')") == "pass"


def test_a_python_selector_sees_a_new_function(ws: Path) -> None:
    recorded(ws)
    (ws / "src" / "a.py").write_text("import os\n\ndef handle_order(y):\n    return y\n")
    got = changed(ws)
    assert str(ws / "src" / "a.py") in got.scopes["app.handlers"]


def test_a_python_file_rewritten_with_the_same_size_and_mtime(ws: Path) -> None:
    recorded(ws)
    target = ws / "src" / "b.py"
    st = target.stat()
    target.write_text(target.read_text().replace("handle_order", "handle_other"))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    got = changed(ws)
    assert got.scopes["app.handlers"] == ()


def test_the_element_filter_is_part_of_the_key(ws: Path) -> None:
    recorded(ws, element_filter="app")
    got = changed(ws, element_filter="lib")
    assert [v[0] for v in got.verdicts] == ["lib"]
    assert run(ws, element_filter="app").reused
    assert run(ws, element_filter="lib").reused


def _cache_files(ws: Path) -> list[Path]:
    return sorted((ws / ".hie-cache" / plancache.PLANS_DIR).glob("*.json"))


@pytest.mark.parametrize("which", ["plan", "spec"])
@pytest.mark.parametrize("damage", ["forged", "truncated", "garbage"])
def test_a_damaged_cache_file_is_ignored_with_a_warning(ws: Path, damage: str, which: str) -> None:
    recorded(ws)
    # The plan's file holds the checks' texts; the spec's holds its file names and digests.
    [path] = [p for p in _cache_files(ws) if ("'a.py'" in p.read_text()) == (which == "plan")]
    text = path.read_text()
    if damage == "forged":
        # Valid JSON, plausible content, no valid signature.
        path.write_text(text.replace("'a.py'", "'c.py'", 1) if which == "plan" else text.replace("arch.hie", "arch.hix", 1))
    elif damage == "truncated":
        path.write_text(text[: len(text) // 2])
    else:
        path.write_bytes(b"\xff\xfe not a plan")
    got = run(ws)
    assert not (got.reused if which == "plan" else got.spec_cached)
    assert_as_fresh(ws, got)
    assert any("ignoring the cached plan" in w for w in got.warnings), got.warnings
    again = run(ws)
    assert again.reused and again.spec_cached and not again.warnings


def test_a_plan_signed_with_another_secret_is_ignored(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded(ws)
    monkeypatch.setenv("HIE_TASKS_SECRET", "someone else")
    got = changed(ws)
    assert not got.spec_cached
    assert any("ignoring the cached plan" in w for w in got.warnings)


def test_a_plan_made_right_after_the_workspace_changed_is_not_stored(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plancache, "WINDOW_NS", RACY_WINDOW_NS)
    first = run(ws)
    assert first.not_cached is not None and "changed while" in first.not_cached
    assert not run(ws).reused


def test_a_symlink_in_a_listed_tree_makes_the_plan_uncacheable(ws: Path) -> None:
    os.symlink(ws / "lib", ws / "src" / "link")
    run(ws)
    settle()
    first = run(ws)
    assert first.not_cached is not None and "symlink" in first.not_cached
    got = run(ws)
    assert not got.reused
    assert_as_fresh(ws, got)


def test_no_store_means_no_plan_files(ws: Path) -> None:
    settle()
    run(ws, use_store=False)
    assert not (ws / ".hie-cache").exists()


def test_a_copy_of_a_cached_spec_behaves_as_the_spec(ws: Path) -> None:
    """`dataclasses.replace` (the daemon copies the spec so) builds the copy with SpecSet's constructor."""
    from dataclasses import replace

    from hie_tasks.lang.loader import load_spec

    recorded(ws)
    spec, project = load_spec_or_exit(str(ws / "arch.hie"), None, True, ProjectOptions(workspace=str(ws)))
    with project:
        assert isinstance(spec, CachedSpecSet)
        copy = replace(spec, diagnostics=[])
        fresh = load_spec(str(ws / "arch.hie"), project.library_names())
        assert copy.file_names() == fresh.file_names() and copy.library_imports() == fresh.library_imports()
        assert copy.sources == fresh.sources and len(copy.programs) == len(fresh.programs)
