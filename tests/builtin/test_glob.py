"""Glob semantics of Rust's `glob` crate, on real directory trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hie_tasks.libraries.builtin.glob import GlobPatternError, glob, literal_directory, validate

from .conftest import write_tree  # type: ignore[import-not-found]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write_tree(
        tmp_path,
        {
            "a.py": "",
            "b.PY": "",
            "c.txt": "",
            ".hidden.py": "",
            "src/x.py": "",
            "src/deep/y.py": "",
            "src/.secret/z.py": "",
            "]odd": "",
        },
    )
    return tmp_path


def names(base: Path, pattern: str) -> list[str]:
    return sorted(os.path.relpath(p, base) for p in glob(str(base), pattern))


def test_star_stays_within_one_component_and_includes_hidden_files(tree: Path) -> None:
    assert names(tree, "*.py") == [".hidden.py", "a.py"]
    assert names(tree, "src/*.py") == ["src/x.py"]


def test_double_star_matches_zero_or_more_directories_hidden_ones_too(tree: Path) -> None:
    assert names(tree, "**/*.py") == [
        ".hidden.py",
        "a.py",
        "src/.secret/z.py",
        "src/deep/y.py",
        "src/x.py",
    ]
    assert names(tree, "src/**/y.py") == ["src/deep/y.py"]


def test_trailing_double_star_lists_every_descendant_but_not_the_directory(tree: Path) -> None:
    assert names(tree, "src/**") == [
        "src/.secret",
        "src/.secret/z.py",
        "src/deep",
        "src/deep/y.py",
        "src/x.py",
    ]


def test_question_mark_and_character_classes(tree: Path) -> None:
    assert names(tree, "?.py") == ["a.py"]
    assert names(tree, "[ab].*") == ["a.py", "b.PY"]
    assert names(tree, "[!a].*") == ["b.PY", "c.txt"]
    assert names(tree, "[a-b].*") == ["a.py", "b.PY"]
    # `]` right after `[` is a member, as in the crate.
    assert names(tree, "[]]odd") == ["]odd"]
    # A reversed range matches nothing instead of failing like a Python regex would.
    assert names(tree, "[z-a].py") == []


def test_matching_is_case_sensitive(tree: Path) -> None:
    assert names(tree, "*.py") == [".hidden.py", "a.py"]
    assert names(tree, "*.PY") == ["b.PY"]


def test_trailing_slash_selects_directories_only(tree: Path) -> None:
    assert names(tree, "src/*/") == ["src/.secret", "src/deep"]


@pytest.mark.parametrize("pattern", ["***", "a**", "**b", "src/**x/*.py", "[abc", "[!]", "[]", "x["])
def test_bad_patterns_raise(pattern: str) -> None:
    with pytest.raises(GlobPatternError):
        validate(pattern)


def test_leading_dot_component_also_matches_dot_and_dotdot(tree: Path) -> None:
    # Quirk of the crate: `.*` reaches the special entries `.` and `..`, which count as matches.
    assert names(tree, ".*") == [".", "..", ".hidden.py"]


def test_double_star_does_not_descend_symlink_cycles(tmp_path: Path) -> None:
    write_tree(tmp_path, {"d/f.py": ""})
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    assert names(tmp_path, "**/*.py") == ["d/f.py"]
    # A symlinked directory named by a single-component wildcard is still entered, as upstream does.
    assert names(tmp_path, "d/*/f.py") == ["d/loop/f.py"]


def test_base_directory_is_literal(tmp_path: Path) -> None:
    base = tmp_path / "we[ird]"
    write_tree(base, {"a.py": ""})
    assert names(base, "*.py") == ["a.py"]


def test_literal_directory_is_the_deepest_wildcard_free_prefix() -> None:
    assert literal_directory("/ws", "src/**/*.py") == "/ws/src"
    assert literal_directory("/ws", "src/main.py") == "/ws/src"
    assert literal_directory("/ws", "*.py") == "/ws"
    assert literal_directory("/ws", "a/b[c]/d") == "/ws/a"
