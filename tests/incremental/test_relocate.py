"""Relocation of stored paths and text: reversible, and only the workspace root as a whole path is replaced."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hie_tasks.incremental.relocate import ROOT, abs_path, rel_path, relocate_text, reroot_text

WS = "/home/ci/work/repo"


def test_root_is_replaced_only_as_a_whole_component() -> None:
    text = f"File '{WS}/src/a.py' too big; {WS}; {WS}2/x; /tmp{WS}/y; {WS}-old/z; ({WS})"
    moved = reroot_text(relocate_text(text, WS), "/elsewhere")
    assert moved == "File '/elsewhere/src/a.py' too big; /elsewhere; " \
        f"{WS}2/x; /tmp{WS}/y; {WS}-old/z; (/elsewhere)"


@given(st.lists(st.sampled_from(["a", "/", " ", ROOT, "\ue001", WS, "'"]), max_size=30).map("".join))
def test_relocation_round_trips_any_text(text: str) -> None:
    assert reroot_text(relocate_text(text, WS), WS) == text


def test_paths_under_the_workspace_become_relative_and_others_stay() -> None:
    assert rel_path(f"{WS}/src/a.py", WS) == "src/a.py"
    assert rel_path(WS, WS) == "."
    assert rel_path("/usr/include/stdio.h", WS) == "/usr/include/stdio.h"
    assert rel_path(f"{WS}2/a", WS) == f"{WS}2/a"
    assert abs_path("src/a.py", "/elsewhere") == "/elsewhere/src/a.py"
    assert abs_path("/usr/include/stdio.h", "/elsewhere") == "/usr/include/stdio.h"


def _by_regex(text: str, workspace: str) -> str:
    """What relocation did with `re` before it was written out by hand (the regex is the definition)."""
    import re

    pattern = re.compile(r"(?<![\w.\-/])" + re.escape(workspace.rstrip("/")) + r"(?![\w.\-])")
    return pattern.sub(ROOT, text)


@given(st.lists(st.sampled_from(["/w", "/work", "/", ".", "-", "_", "a", "é", "٣", "²", "Ⅻ", " ", '"', "x/w",
                                 "/work/", "/tmp/a.b", "/x-y/z"]), max_size=12).map("".join),
       st.sampled_from(["/work", "/w", "/tmp/a.b", "/x-y/z", "/work/"]))
def test_the_root_is_found_exactly_where_the_defining_regex_finds_it(text: str, workspace: str) -> None:
    assert relocate_text(text, workspace) == _by_regex(text, workspace)
