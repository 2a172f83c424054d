"""Every component of the static fingerprint changes exactly when its input does."""

from __future__ import annotations

import os
from typing import Any

import pytest

from hie_tasks.incremental.digests import FileDigester
from hie_tasks.incremental.fingerprint import compute_fingerprint, static_fingerprint
from hie_tasks.model.values import Scope, ScopeKind


def changed_components(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_identical_inputs_give_identical_fingerprints(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    assert static_fingerprint(parts, FileDigester(None)) == static_fingerprint(parts, FileDigester(None))


@pytest.mark.parametrize(
    ("change", "component"),
    [
        ({"text": "files.exists(src, 'b.py')"}, "text"),
        ({"line": 4}, "location"),
        ({"spec_file": "other.hie"}, "location"),
        ({"identity": "files@2"}, "identity"),
        ({"library": "files2"}, "library"),
        ({"function": "contains"}, "function"),
        ({"version": "9.9.9"}, "version"),
    ],
)
def test_each_static_component(ws: Any, change: dict[str, Any], component: str) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    fp1, b1 = static_fingerprint(parts, FileDigester(None))
    fp2, b2 = static_fingerprint(parts.replace(**change), FileDigester(None))
    assert fp1 != fp2
    assert changed_components(b1, b2) == {component}


def test_a_copy_of_the_checkout_elsewhere_has_the_same_fingerprint(ws: Any, tmp_path: Any) -> None:
    import shutil

    copy = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(ws.root, copy)
    here = ws.parts(ws.scope("src"), "a.py", identity=f"external:{ws.root}/plugin.py")
    src = Scope(ScopeKind.folder("src"), tuple(p.replace(str(ws.root), str(copy)) for p in ws.scope("src").paths))
    there = here.replace(args=[src, "a.py"], workspace=str(copy), identity=f"external:{copy}/plugin.py")
    a, b = compute_fingerprint(here, FileDigester(None)), compute_fingerprint(there, FileDigester(None))
    assert a.value == b.value and a.scope_paths == b.scope_paths == {"scope[0]": a.scope_paths["scope[0]"]}
    assert set(a.scope_paths["scope[0]"]) == {"src/a.py", "src/b.py"}
    # ... and a different file there is a different fingerprint.
    (copy / "src" / "a.py").write_text("changed\n")
    assert compute_fingerprint(there, FileDigester(None)).value != a.value


def test_plain_argument_change_is_args(ws: Any) -> None:
    fp1, b1 = static_fingerprint(ws.parts(ws.scope("src"), "a.py"), FileDigester(None))
    fp2, b2 = static_fingerprint(ws.parts(ws.scope("src"), "b.py"), FileDigester(None))
    assert fp1 != fp2 and changed_components(b1, b2) == {"args"}
    _, b3 = static_fingerprint(ws.parts(ws.scope("src"), 1), FileDigester(None))
    _, b4 = static_fingerprint(ws.parts(ws.scope("src"), 1.0), FileDigester(None))
    assert changed_components(b3, b4) == {"args"}  # Int and Float are different values


def test_file_content_added_and_removed_files_change_only_the_scope(ws: Any) -> None:
    def snap() -> tuple[str, dict[str, str]]:
        return static_fingerprint(ws.parts(ws.scope("src"), "a.py"), FileDigester(None))

    base_fp, base = snap()
    ws.write("src/a.py", "import sys\n")
    fp, edited = snap()
    assert fp != base_fp and changed_components(base, edited) == {"scope[0]"}
    ws.write("src/c.py", "")
    _, added = snap()
    assert changed_components(edited, added) == {"scope[0]"}
    os.remove(ws.path("src/b.py"))
    _, removed = snap()
    assert changed_components(added, removed) == {"scope[0]"}


def test_scope_kind_change_is_args_not_scope(ws: Any) -> None:
    s = ws.scope("src")
    _, b1 = static_fingerprint(ws.parts(s), FileDigester(None))
    _, b2 = static_fingerprint(ws.parts(Scope(ScopeKind.glob("src/*.py"), s.paths)), FileDigester(None))
    assert changed_components(b1, b2) == {"args"}


def test_scopes_inside_lists_are_numbered_left_to_right(ws: Any) -> None:
    src, top = ws.scope("src"), Scope(ScopeKind.file("cfg.toml"), (ws.path("cfg.toml"),))
    fp = compute_fingerprint(ws.parts([1, [src]], top), FileDigester(None))
    assert set(fp.scope_paths) == {"scope[0]", "scope[1]"}
    assert set(fp.scope_paths["scope[0]"]) == {"src/a.py", "src/b.py"}  # workspace-relative
    assert list(fp.scope_paths["scope[1]"]) == ["cfg.toml"]
    ws.write("cfg.toml", "x = 2\n")
    fp2 = compute_fingerprint(ws.parts([1, [src]], top), FileDigester(None))
    assert changed_components(fp.breakdown, fp2.breakdown) == {"scope[1]"}


def test_without_contents_only_the_path_set_counts(ws: Any) -> None:
    def snap() -> str:
        return static_fingerprint(ws.parts(ws.scope("src")), FileDigester(None), contents=False)[0]

    base = snap()
    ws.write("src/a.py", "entirely different\n")
    assert snap() == base
    ws.write("src/new.py", "")
    assert snap() != base
