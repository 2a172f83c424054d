"""The `files` library on real trees: selectors, checks, quirks, errors and recorded inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hie_tasks.libraries.base import TreeDep
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Scope, ScopeKind, Status

from .conftest import HarnessFactory  # type: ignore[import-not-found]

TREE = {
    "README.md": "# hi\n",
    "src/main.py": "print('x')\n",
    "src/domain.rs": "",
    "src/.env": "SECRET=1\n",
    "src/pkg/util.py": "",
    ".git/objects/ab/cdef": "blob",
    ".git/HEAD": "ref\n",
}


def test_file_selector_returns_the_file_or_nothing(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    scope = h.call("file_selector", "src/main.py")
    assert scope == Scope(ScopeKind.file("src/main.py"), h.rel("src/main.py"))
    assert h.ctx.deps == {os.path.join(h.ws, "src/main.py")}
    assert h.call("file_selector", "src").paths == ()  # a directory is not a file
    assert h.call("file_selector", "missing.txt") == Scope(ScopeKind.file("missing.txt"), ())


def test_folder_selector_walks_everything_hidden_and_git_included_sorted(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    scope = h.call("folder_selector", ".")
    assert scope.kind == ScopeKind.folder(".")
    assert scope.paths == h.rel(
        ".git/HEAD",
        ".git/objects/ab/cdef",
        "README.md",
        "src/.env",
        "src/domain.rs",
        "src/main.py",
        "src/pkg/util.py",
    )
    assert h.ctx.trees == {TreeDep(h.ws)}
    sub = h.call("folder_selector", "src/pkg")
    assert sub.paths == h.rel("src/pkg/util.py")
    assert h.ctx.trees == {TreeDep(os.path.join(h.ws, "src/pkg"))}


def test_folder_selector_does_not_follow_or_list_symlinks(files_lib: HarnessFactory, tmp_path: Path) -> None:
    h = files_lib({"src/a.txt": "", "outside/b.txt": ""})
    os.symlink(tmp_path / "ws" / "outside", tmp_path / "ws" / "src" / "linked_dir")
    os.symlink(tmp_path / "ws" / "outside" / "b.txt", tmp_path / "ws" / "src" / "linked_file.txt")
    assert h.call("folder_selector", "src").paths == h.rel("src/a.txt")


def test_folder_selector_on_a_non_directory_is_empty(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    assert h.call("folder_selector", "README.md").paths == ()
    assert h.call("folder_selector", "nope").paths == ()


def test_glob_selector_matches_regular_files_and_records_the_literal_prefix(
    files_lib: HarnessFactory,
) -> None:
    h = files_lib(TREE)
    scope = h.call("glob_selector", "src/**/*.py")
    assert scope == Scope(ScopeKind.glob("src/**/*.py"), h.rel("src/main.py", "src/pkg/util.py"))
    assert h.ctx.trees == {TreeDep(os.path.join(h.ws, "src"))}
    # Hidden files are matched by `*`; directories matched by the pattern are not listed.
    assert h.call("glob_selector", "src/*").paths == h.rel("src/.env", "src/domain.rs", "src/main.py")


def test_glob_selector_bad_pattern_selects_nothing(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    assert h.call("glob_selector", "src/***") == Scope(ScopeKind.glob("src/***"), ())
    assert h.call("glob_selector", "[unclosed").paths == ()


def test_exists_on_a_file_scope_ignores_the_name(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    readme = h.call("file_selector", "README.md")
    # Quirk kept from upstream: the name is ignored; the scope's own file decides.
    assert h.passes("exists", readme, "does-not-matter")
    missing = h.call("file_selector", "NOPE.md")
    assert h.check("exists", missing, "README.md") == CheckResult.failed("File 'NOPE.md' does not exist")


def test_exists_on_a_folder_scope_probes_the_name_and_records_it(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    root = h.call("folder_selector", ".")
    assert h.passes("exists", root, "README.md")
    assert h.passes("exists", root, "src/pkg")  # a folder counts, `/` allowed
    result = h.check("exists", root, "LICENSE")
    assert result == CheckResult.failed("File 'LICENSE' does not exist in folder '.'")
    # Recorded although absent, so creating LICENSE later invalidates the cached verdict.
    assert os.path.join(h.ws, "LICENSE") in h.ctx.deps


def test_exists_on_a_glob_scope_compares_final_components(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    scope = h.call("glob_selector", "src/**/*.py")
    assert h.passes("exists", scope, "util.py")
    assert not h.passes("exists", scope, "pkg/util.py")
    assert h.check("exists", scope, "x.py") == CheckResult.failed("No file named 'x.py' found in scope")


def test_exists_on_a_python_scope_tests_the_kind_text(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    # A File kind from another library (python.module_selector('src')) tests <workspace>/<kind text>.
    assert h.passes("exists", Scope(ScopeKind.file("src"), ()), "anything")


def test_contains_on_folder_and_suffix_quirk(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    src = h.call("folder_selector", "src")
    assert h.passes("contains", src, "main.py")
    assert h.check("contains", src, "lib.rs") == CheckResult.failed("Folder 'src' does not contain 'lib.rs'")
    files = h.call("glob_selector", "src/*.rs")
    # Quirk kept from upstream: a plain suffix test, so `main.rs` is "contained" via `domain.rs`.
    assert h.passes("contains", files, "main.rs")
    assert h.passes("contains", files, "domain.rs")
    assert h.check("contains", files, "x.rs") == CheckResult.failed("Scope does not contain 'x.rs'")


def test_no_files_matching_lists_first_five_sorted_and_counts_all(files_lib: HarnessFactory) -> None:
    h = files_lib({f"logs/f{i}.log": "" for i in (7, 3, 1, 6, 2, 5, 4)} | {"logs/keep.txt": ""})
    logs = h.call("folder_selector", "logs")
    assert h.passes("no_files_matching", logs, "*.tmp")
    result = h.check("no_files_matching", logs, "*.log")
    shown = ", ".join(f'"{h.ws}/logs/f{i}.log"' for i in range(1, 6))
    assert result == CheckResult.failed(f"Found 7 files matching pattern '*.log': [{shown}]")
    assert h.ctx.trees == {TreeDep(os.path.join(h.ws, "logs"))}


def test_no_files_matching_counts_directories_and_uses_the_right_base(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    readme = h.call("file_selector", "src/main.py")
    # File scope → its parent folder; directories count as matches.
    result = h.check("no_files_matching", readme, "pk*")
    assert result == CheckResult.failed(f"Found 1 files matching pattern 'pk*': [\"{h.ws}/src/pkg\"]")
    glob_scope = h.call("glob_selector", "src/*.py")
    # Glob scope → the workspace root.
    assert not h.passes("no_files_matching", glob_scope, "README.md")


def test_no_files_matching_invalid_pattern_is_an_error_verdict(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    result = h.check("no_files_matching", h.call("folder_selector", "."), "a**")
    assert result == CheckResult.errored("Invalid glob pattern: a**")


def test_no_files_matching_escapes_like_rust_debug(files_lib: HarnessFactory) -> None:
    h = files_lib({'d/q"uote.x': "", "d/back\\slash.x": ""})
    result = h.check("no_files_matching", h.call("folder_selector", "d"), "*.x")
    assert result.message == (
        f'Found 2 files matching pattern \'*.x\': ["{h.ws}/d/back\\\\slash.x", "{h.ws}/d/q\\"uote.x"]'
    )


def test_max_size_int_float_truncation_and_vanished_files(files_lib: HarnessFactory) -> None:
    h = files_lib({"small.txt": "x" * 10, "big.txt": "x" * 11})
    everything = h.call("folder_selector", ".")
    assert h.passes("max_size", everything, 11)
    big = os.path.join(h.ws, "big.txt")
    # Spelled as upstream does with `-w <absolute workspace>`: the folder's text joined on, `./` and all.
    expected = CheckResult.failed(f"File '{os.path.join(h.ws, '.', 'big.txt')}' exceeds maximum size (11 > 10 bytes)")
    assert h.check("max_size", everything, 10) == expected
    # A Float is truncated: 10.9 behaves as 10.
    assert h.check("max_size", everything, 10.9) == expected
    os.remove(big)
    assert h.passes("max_size", everything, 10)  # the vanished file is skipped


@pytest.mark.parametrize(
    ("kind", "function", "args", "code", "message"),
    [
        ("call", "file_selector", [], "E100", "file_selector requires a string path argument"),
        ("call", "file_selector", [3], "E100", "file_selector requires a string path argument"),
        ("call", "folder_selector", [True], "E101", "folder_selector requires a string path argument"),
        ("call", "glob_selector", [None], "E102", "glob_selector requires a string pattern argument"),
        ("check", "exists", ["src", "x"], "E110", "exists requires a scope as first argument"),
        ("check", "exists", ["SCOPE", 1], "E111", "exists requires a filename as second argument"),
        ("check", "contains", [], "E112", "contains requires a scope as first argument"),
        ("check", "contains", ["SCOPE"], "E113", "contains requires a filename as second argument"),
        (
            "check",
            "no_files_matching",
            [1.5, "*"],
            "E114",
            "no_files_matching requires a scope as first argument",
        ),
        (
            "check",
            "no_files_matching",
            ["SCOPE", ["*"]],
            "E115",
            "no_files_matching requires a filename as second argument",
        ),
        ("check", "max_size", ["x", 1], "E116", "max_size requires a scope as first argument"),
        ("check", "max_size", ["SCOPE", "10"], "E117", "max_size requires a number as second argument"),
        ("check", "max_size", ["SCOPE", True], "E117", "max_size requires a number as second argument"),
        ("call", "nope", [], "E199", "Unknown function: files.nope"),
        ("check", "nope", [], "E199", "Unknown check function: files.nope"),
        ("check", "file_selector", ["x"], "E199", "Unknown check function: files.file_selector"),
        ("call", "exists", [], "E199", "Unknown function: files.exists"),
    ],
)
def test_argument_and_dispatch_errors(
    files_lib: HarnessFactory, kind: str, function: str, args: list[object], code: str, message: str
) -> None:
    h = files_lib({})
    scope = Scope(ScopeKind.folder("."), ())
    values = [scope if a == "SCOPE" else a for a in args]
    with pytest.raises(LibraryError) as info:
        if kind == "call":
            h.call(function, *values)
        else:
            h.check(function, *values)
    assert (info.value.code, info.value.message) == (code, message)


def test_extra_arguments_are_ignored(files_lib: HarnessFactory) -> None:
    h = files_lib(TREE)
    assert h.call("file_selector", "README.md", 1, "extra").paths == h.rel("README.md")
    assert h.check("exists", h.call("folder_selector", "."), "README.md", 99).status is Status.PASS
