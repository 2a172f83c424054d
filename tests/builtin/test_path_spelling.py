"""`files` messages spell paths as upstream does: from the workspace as the user named it, in upstream's order.

The expected strings are the upstream oracle's answers on the same tree (recorded when the class was found;
`tests/conformance/test_regressions.py` asks the oracle again where it is present).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.builtin.files import FilesLibrary
from hie_tasks.libraries.builtin.pathtext import crate_spelling, glob_order
from hie_tasks.model.values import Scope


def _tree(root: Path) -> Path:
    ws = root / "ws"
    for rel, size in (("src/a.py", 50), ("src/sub/c.py", 6), ("docs/g.md", 6)):
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text("x" * size)
    return ws


def _message(lib: FilesLibrary, ws: Path, selector: str, arg: str, check: str, *more: object) -> str | None:
    ctx = CallContext(str(ws))
    scope = lib.call(selector, [arg], ctx)
    assert isinstance(scope, Scope)
    return lib.check(check, [scope, *more], CallContext(str(ws))).message  # type: ignore[list-item]


# (selector, argument, check, check argument, message template; {w} is the workspace as given)
ORACLE_ANSWERS = [
    ("folder_selector", "src", "max_size", 10, "File '{w}/src/a.py' exceeds maximum size (50 > 10 bytes)"),
    ("folder_selector", ".", "max_size", 40, "File '{w}/./src/a.py' exceeds maximum size (50 > 40 bytes)"),
    ("folder_selector", "./src/", "max_size", 10, "File '{w}/./src/a.py' exceeds maximum size (50 > 10 bytes)"),
    ("file_selector", "./src//a.py", "max_size", 2, "File '{w}/./src//a.py' exceeds maximum size (50 > 2 bytes)"),
    ("glob_selector", "./docs/*.md", "max_size", 2, "File '{g}./docs/g.md' exceeds maximum size (6 > 2 bytes)"),
    ("folder_selector", "src", "no_files_matching", "**/*.py",
     'Found 2 files matching pattern \'**/*.py\': ["{g}src/a.py", "{g}src/sub/c.py"]'),
    ("folder_selector", ".", "no_files_matching", "src/*.py",
     'Found 1 files matching pattern \'src/*.py\': ["{g}./src/a.py"]'),
]


@pytest.mark.parametrize("given", [".", "./", "../ws", "ABS", "ABS/"])
@pytest.mark.parametrize(("selector", "arg", "check", "more", "template"), ORACLE_ANSWERS)
def test_messages_start_with_the_workspace_as_given(
    tmp_path: Path, given: str, selector: str, arg: str, check: str, more: object, template: str
) -> None:
    ws = _tree(tmp_path)
    text = given.replace("ABS", str(ws))
    lib = FilesLibrary(workspace_text=text)
    w = text.rstrip("/") if text != "./" else "."
    # The glob crate drops a leading current directory: `./docs/*.md` from `.` is `docs/g.md`.
    g = "" if w == "." else f"{w}/"
    if w == "." and template.startswith("File '{g}./"):
        template = template.replace("{g}./", "{g}")
    if w == "." and "{g}./src" in template:
        template = template.replace("{g}./src", "{g}src")
    assert _message(lib, ws, selector, arg, check, more) == template.format(w=w, g=g)


def test_the_spelling_is_part_of_the_identity_and_absent_means_absolute(tmp_path: Path) -> None:
    ws = _tree(tmp_path)
    assert FilesLibrary(workspace_text=".").identity() != FilesLibrary(workspace_text="./").identity()
    assert FilesLibrary().identity() == "builtin:files:2"
    assert _message(FilesLibrary(), ws, "folder_selector", "src", "max_size", 10) == (
        f"File '{ws}/src/a.py' exceeds maximum size (50 > 10 bytes)"
    )


def test_max_size_names_the_first_oversize_file_in_listing_order(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "d").mkdir(parents=True)
    names = [f"f{i:02d}.txt" for i in range(24)]
    for name in names:
        (ws / "d" / name).write_text("x" * 10)
    listed = [n for n in os.listdir(ws / "d") if n in names]
    if listed == sorted(listed):
        pytest.skip("this file system lists directories in name order; the two orders cannot be told apart")
    message = _message(FilesLibrary(workspace_text="."), ws, "folder_selector", "d", "max_size", 5)
    assert message == f"File './d/{listed[0]}' exceeds maximum size (10 > 5 bytes)"


def test_glob_results_are_listed_in_the_crates_order_not_string_order(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    for rel in ("src/a.py", "src/a/x.py", "src/a-b/y.py", "src/B/q.py"):
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text("x")
    message = _message(FilesLibrary(workspace_text="."), ws, "folder_selector", "src", "no_files_matching", "**/*.py")
    # The oracle's answer on this tree: a directory's entries by name, depth first ("a" < "a-b" < "a.py").
    assert message == (
        'Found 4 files matching pattern \'**/*.py\': ["src/B/q.py", "src/a/x.py", "src/a-b/y.py", "src/a.py"]'
    )
    assert glob_order(["/w/a.py", "/w/a-b/y.py", "/w/a/x.py"]) == ["/w/a/x.py", "/w/a-b/y.py", "/w/a.py"]


@pytest.mark.parametrize(
    ("text", "spelled"),
    [("././docs/g.md", "docs/g.md"), ("../ws/./src/a.py", "../ws/./src/a.py"), ("/w/./d/x", "/w/./d/x"),
     ("./", "."), ("src//a.py", "src/a.py"), ("./src/", "src")],
)
def test_crate_spelling(text: str, spelled: str) -> None:
    assert crate_spelling(text) == spelled
