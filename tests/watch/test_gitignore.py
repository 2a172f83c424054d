"""The gitignore matcher against git's documented rules."""

from __future__ import annotations

import pytest

from hie_tasks.watch.gitignore import GitIgnore

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
