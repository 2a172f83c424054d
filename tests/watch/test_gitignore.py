"""The gitignore matcher against git's documented rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from hie_tasks.watch.gitignore import GitIgnore
from hie_tasks.watch.ignores import IgnoreTree

RULES = """\
# comment
*.log
!keep.log
build/
/root-only.txt
docs/**/draft.md
vendor/**
\\#literal
a?c
[xy].tmp
"""


@pytest.mark.parametrize(
    ("path", "is_dir", "ignored"),
    [
        ("debug.log", False, True),
        ("deep/dir/debug.log", False, True),
        ("keep.log", False, False),
        ("deep/keep.log", False, False),
        ("build", True, True),
        ("build", False, False),  # dir-only pattern does not match a file named build
        ("build/x.o", False, True),
        ("sub/build/x.o", False, True),
        ("root-only.txt", False, True),
        ("sub/root-only.txt", False, False),
        ("docs/draft.md", False, True),
        ("docs/a/b/draft.md", False, True),
        ("docs/a/final.md", False, False),
        ("vendor/lib/x.py", False, True),
        ("vendor", True, False),
        ("#literal", False, True),
        ("abc", False, True),
        ("a/c", False, False),
        ("x.tmp", False, True),
        ("z.tmp", False, False),
        ("src/main.py", False, False),
    ],
)
def test_rules(path: str, is_dir: bool, ignored: bool) -> None:
    assert GitIgnore.parse(RULES).ignored(path, is_dir) is ignored


def test_negation_cannot_reinclude_below_an_excluded_directory() -> None:
    rules = GitIgnore.parse("out/\n!out/keep.txt\n")
    assert rules.ignored("out/keep.txt")


def test_last_matching_rule_wins() -> None:
    rules = GitIgnore.parse("*.txt\n!important.txt\nimportant.txt\n")
    assert rules.ignored("important.txt")


def test_missing_file_ignores_nothing(tmp_path: object) -> None:
    assert not GitIgnore.load(str(tmp_path)).ignored("anything/at/all")


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_nested_files_deeper_wins_and_ignored_dirs_are_not_entered(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".git/info/exclude": "*.dat\n",
        ".gitignore": "*.log\n!special.dat\nout/\n",
        "a/.gitignore": "!keep.log\n/local.txt\n",
        "a/b/.gitignore": "keep.log\n",
        "out/.gitignore": "!x.o\n",
    })
    tree = IgnoreTree(str(tmp_path))
    expected = {
        "x.log": True, "a/keep.log": False, "a/c/keep.log": False, "a/b/keep.log": True,
        "a/local.txt": True, "a/c/local.txt": False, "out/x.o": True,
        "other.dat": True, "special.dat": False, "a/src.py": False,
    }
    assert {rel: tree.ignored(str(tmp_path / rel)) for rel in expected} == expected


def test_note_change_rereads_only_after_an_edit(tmp_path: Path) -> None:
    _tree(tmp_path, {"a/.gitignore": "*.tmp\n"})
    tree = IgnoreTree(str(tmp_path))
    path = str(tmp_path / "a" / "x.tmp")
    assert tree.ignored(path)
    (tmp_path / "a" / ".gitignore").write_text("")
    assert tree.ignored(path)  # cached until told
    assert tree.note_change(str(tmp_path / "a" / ".gitignore"), False)
    assert not tree.ignored(path)
    (tmp_path / "a" / ".gitignore").write_text("*.tmp\n")
    assert tree.note_change(str(tmp_path / "a"), True)  # a directory event drops the files below it
    assert tree.ignored(path)
    assert not tree.note_change(str(tmp_path / "a" / "x.py"), False)


def test_workspace_inside_a_worktree_uses_the_repository_files(tmp_path: Path) -> None:
    common = tmp_path / "main.git"
    _tree(tmp_path, {
        "main.git/info/exclude": "*.secret\n",
        "main.git/worktrees/wt/commondir": "../..\n",
        "wt/.git": f"gitdir: {common / 'worktrees' / 'wt'}\n",
        "wt/.gitignore": "/ws/generated/\n",
    })
    tree = IgnoreTree(str(tmp_path / "wt" / "ws"))
    assert tree.top == str(tmp_path / "wt")
    assert tree.exclude_file == str(common / "info" / "exclude")
    assert tree.outside_files() == [str(tmp_path / "wt" / ".gitignore"), tree.exclude_file]
    assert tree.ignored(str(tmp_path / "wt" / "ws" / "generated" / "f.py"))
    assert tree.ignored(str(tmp_path / "wt" / "ws" / "k.secret"))
    assert not tree.ignored(str(tmp_path / "wt" / "ws" / "src" / "f.py"))
