"""Texts and walks shared between built-in calls: read once per run, never stale in the next run."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hie_tasks.engine.planned import Plan
from hie_tasks.engine.project import Project
from hie_tasks.libraries.builtin import sourcecache
from hie_tasks.libraries.builtin.sourcecache import SourceCache
from hie_tasks.libraries.builtin.text import WS, BoundedSearch
from hie_tasks.libraries.builtin.walk import WalkRules
from hie_tasks.model.values import Scope

HOUR_NS = 3600 * 10**9


class CountingReads:
    """Counts real reads of the file system made by a cache (the reads themselves still happen)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        real = sourcecache.read_text_signed

        def counted(path: str) -> tuple[str | None, sourcecache.Signature | None]:
            self.paths.append(path)
            return real(path)

        monkeypatch.setattr(sourcecache, "read_text_signed", counted)


def _age(path: Path, ns: int = HOUR_NS) -> int:
    """Give `path` an mtime an hour in the past (outside the racy window); returns that mtime."""
    mtime = time.time_ns() - ns
    os.utime(path, ns=(mtime, mtime))
    return mtime


def test_a_text_is_read_once_per_run_and_reused_while_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = CountingReads(monkeypatch)
    cache = SourceCache()
    src = tmp_path / "a.py"
    src.write_text("def f():\n    pass\n")
    _age(src)
    cache.begin_run()
    assert cache.text(str(src)) == "def f():\n    pass\n"
    assert cache.text(str(src)) == "def f():\n    pass\n"
    assert len(reads.paths) == 1
    cache.begin_run()
    assert cache.text(str(src)) == "def f():\n    pass\n"
    assert len(reads.paths) == 1, "an unchanged, settled file is not read again in the next run"


def test_same_size_rewrite_with_the_old_mtime_is_seen_next_run(tmp_path: Path) -> None:
    cache = SourceCache()
    src = tmp_path / "a.py"
    src.write_text("import os\n")
    mtime = _age(src)
    cache.begin_run()
    assert cache.text(str(src)) == "import os\n"
    # Same size, mtime put back: only the change time (and content) differ.
    src.write_text("import re\n")
    os.utime(src, ns=(mtime, mtime))
    cache.begin_run()
    assert cache.text(str(src)) == "import re\n"


def test_a_racy_text_is_trusted_for_its_own_run_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = CountingReads(monkeypatch)
    cache = SourceCache()
    src = tmp_path / "a.py"
    src.write_text("x = 1\n")  # modified just now: inside the racy window
    cache.begin_run()
    cache.text(str(src))
    cache.text(str(src))
    assert len(reads.paths) == 1
    cache.begin_run()
    cache.text(str(src))
    assert len(reads.paths) == 2, "a file modified within the racy window is re-read by the next run"


def test_a_file_replaced_by_a_directory_or_removed_is_not_served(tmp_path: Path) -> None:
    cache = SourceCache()
    src = tmp_path / "a.py"
    src.write_text("x = 1\n")
    _age(src)
    cache.begin_run()
    assert cache.text(str(src)) == "x = 1\n"
    src.unlink()
    src.mkdir()
    cache.begin_run()
    assert cache.text(str(src)) is None
    src.rmdir()
    cache.begin_run()
    assert cache.text(str(src)) is None


def test_walks_are_made_once_per_run_and_see_new_files_next_run(tmp_path: Path) -> None:
    cache = SourceCache()
    rules = WalkRules(extension="py", regular_files_only=False)
    (tmp_path / "a.py").write_text("")
    cache.begin_run()
    first = cache.walk(str(tmp_path), rules)
    (tmp_path / "b.py").write_text("")
    assert cache.walk(str(tmp_path), rules) is first, "one walk per run"
    cache.begin_run()
    assert [os.path.basename(p) for p in cache.walk(str(tmp_path), rules)] == ["a.py", "b.py"]


def test_the_byte_bound_keeps_answers_right_and_memory_flat(tmp_path: Path) -> None:
    cache = SourceCache(max_bytes=10)
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("y" * 8)
    cache.begin_run()
    assert cache.text(str(tmp_path / "a.py")) == "y" * 8
    assert cache.text(str(tmp_path / "b.py")) == "y" * 8  # over the bound: read, returned, not kept
    assert cache._bytes == 8


def test_a_kept_project_sees_an_edit_between_two_plans(tmp_path: Path) -> None:
    """What watch mode and the daemon do: one Project, one registry, several plans."""
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    mod = ws / "pkg" / "orders.py"
    mod.write_text("def place():\n    pass\n")
    spec = ws / "spec.hie"
    spec.write_text(
        "import python\n"
        "element shop:\n"
        "    scope placing = python.function_selector('place')\n"
        "    scope cancelling = python.function_selector('cancel')\n"
    )
    with Project(str(spec)) as project:
        specset = project.load_spec()
        assert _sizes(project.plan(specset)) == {"shop.placing": 1, "shop.cancelling": 0}
        mod.write_text("def cancel():\n    pass\n")
        assert _sizes(project.plan(specset)) == {"shop.placing": 0, "shop.cancelling": 1}


def _sizes(plan: Plan) -> dict[str, int]:
    sizes = {}
    for key in plan.scopes.keys():  # noqa: SIM118 - ScopeStore is not a dict
        scope = plan.scopes.get(key)
        assert isinstance(scope, Scope)
        sizes[key] = len(scope.paths)
    return sizes


# --- BoundedSearch finds exactly what the `\b`-led regex finds -------------------------------------------

# Texts are made of the patterns' own pieces, so candidate matches (and near misses) are common.
_PIECES = ["def", "class", "import", "from", "async", " ", "\t", "\u00a0", "x", "_", "1", "é", "ß", "\u0663",
           "(", ":", ".", "-", "\n"]
_NAMES = st.lists(st.sampled_from(_PIECES[5:]), min_size=1, max_size=3).map("".join)
_TEXTS = st.lists(st.sampled_from(_PIECES), max_size=16).map("".join)
_SHAPES = (
    lambda n: rf"\bdef{WS}+{re.escape(n)}\(",
    lambda n: rf"\bclass{WS}+{re.escape(n)}[:(]",
    lambda n: rf"\bimport{WS}+{re.escape(n)}\b",
    lambda n: rf"\bfrom{WS}+{re.escape(n)}\..*{WS}+import\b",
    lambda n: rf"\b{re.escape(n)}\(",
    lambda n: rf"\b(async{WS}+)?def{WS}+{re.escape(n)}\(",
)


@settings(max_examples=600, deadline=None)
@given(text=_TEXTS, name=_NAMES, shape=st.integers(0, len(_SHAPES) - 1))
@example(text="undef x( def x(", name="x", shape=0)
@example(text="é.x(", name=".x", shape=4)
@example(text="xasync def f(", name="f", shape=5)
def test_bounded_search_equals_the_original_regex(text: str, name: str, shape: int) -> None:
    pattern = _SHAPES[shape](name)
    assert BoundedSearch(pattern).search(text) == (re.search(pattern, text) is not None)


def test_bounded_search_refuses_a_pattern_without_a_leading_boundary() -> None:
    with pytest.raises(ValueError):
        BoundedSearch("def")
