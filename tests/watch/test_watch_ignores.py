"""Nested `.gitignore` files and `.git/info/exclude`, through real watchdog events.

The spec has a scope that fails to evaluate, so the index is a wildcard: every change that is not ignored
starts a cycle. Ignored changes are the only ones that do not, which makes ignoring directly observable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .conftest import Harness, poll, write_tree

WILDCARD_SPEC = """\
element alpha:
    scope code = files.folder_selector('alpha')
    check files.exists(code, 'main.py')

element broken:
    scope s = files.folder_selector(42)
    check files.exists(s, 'x')
"""


def start(workspace: Path, make: Callable[[], Harness], files: dict[str, str]) -> Harness:
    write_tree(workspace, {"hielements.hie": WILDCARD_SPEC, "alpha/main.py": "a\n", **files})
    h = make()
    first = h.start()
    assert any(d.code == "E101" for d in first.diagnostics)  # the wildcard this module relies on
    return h


def skipped(h: Harness, rel: str, text: str = "noise\n") -> None:
    """Writing `rel` starts no cycle."""
    cycles, bursts = len(h.recorder.cycles), h.watcher.skipped_bursts
    h.write(rel, text)
    poll(lambda: h.watcher.skipped_bursts > bursts or len(h.recorder.cycles) > cycles)
    assert len(h.recorder.cycles) == cycles, f"{rel} started a cycle: {h.recorder.cycles[-1].changed}"


def cycled(h: Harness, rel: str, text: str = "seen\n") -> None:
    """Writing `rel` starts a cycle reporting exactly it."""
    h.write(rel, text)
    assert h.next_cycle().changed == [rel]


def test_nested_gitignore_ignores_only_below_its_directory(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    h = start(workspace, harness_factory, {"sub/.gitignore": "cache/\n*.tmp\n/anchored.txt\n"})
    skipped(h, "sub/cache/x.txt")
    skipped(h, "sub/deeper/cache/y.txt")  # unanchored: any depth below sub
    skipped(h, "sub/a.tmp")
    skipped(h, "sub/anchored.txt")
    cycled(h, "sub/deeper/anchored.txt")  # anchored to sub itself
    cycled(h, "other/b.tmp")  # the pattern does not reach outside sub
    cycled(h, "cache/z.txt")


def test_deeper_negation_reincludes_but_not_inside_an_ignored_directory(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    h = start(workspace, harness_factory, {
        ".gitignore": "*.log\nbuild/\n",
        "sub/.gitignore": "!keep.log\n",
        "build/.gitignore": "!out.o\n",
    })
    cycled(h, "sub/keep.log")
    cycled(h, "sub/inner/keep.log")
    skipped(h, "sub/other.log")
    skipped(h, "keep.log")  # the negation applies below sub only
    skipped(h, "build/out.o")  # git never enters build/, so its own .gitignore cannot re-include


def test_editing_a_nested_gitignore_changes_what_is_ignored(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    h = start(workspace, harness_factory, {"sub/.gitignore": "# nothing yet\n"})
    cycled(h, "sub/one.out")
    cycled(h, "sub/.gitignore", "*.out\n")
    skipped(h, "sub/two.out")
    cycled(h, "sub/.gitignore", "*.out\n!three.out\n")
    cycled(h, "sub/three.out")
    (workspace / "sub" / ".gitignore").unlink()
    assert h.next_cycle().changed == ["sub/.gitignore"]
    cycled(h, "sub/four.out")


def test_git_info_exclude_is_honoured_below_gitignore_files(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    h = start(workspace, harness_factory, {
        ".git/info/exclude": "secret/\n*.dat\n",
        ".gitignore": "!special.dat\n",
    })
    skipped(h, "secret/a.txt")
    skipped(h, "other.dat")
    cycled(h, "special.dat")  # .gitignore files take precedence over info/exclude
    cycled(h, "x.bak")
    # .git itself never starts a cycle, but the edit must be read before the next event is judged.
    skipped(h, ".git/info/exclude", "secret/\n*.dat\n*.bak\n")
    skipped(h, "y.bak")
