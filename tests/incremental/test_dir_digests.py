"""Per-directory digests: a directory whose files' stat signatures are unchanged is answered from its record,
and every way a directory-level shortcut could answer wrongly gets the straightforward answer instead."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from hie_tasks.engine.project import Project, ProjectOptions
from hie_tasks.engine.runner import RunOptions
from hie_tasks.incremental.digests import DIR, RACY_WINDOW_NS, FileDigester
from hie_tasks.incremental.store import ResultStore


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fresh(cache: str, racy_window_ns: int = 0) -> tuple[FileDigester, list[str], ResultStore]:
    """A digester as a new process would have it: nothing in memory, the records in the store."""
    reads: list[str] = []
    store = ResultStore(cache)
    return FileDigester(store, racy_window_ns=racy_window_ns, read_hook=reads.append), reads, store


def run_once(cache: str, paths: tuple[str, ...], racy_window_ns: int = 0) -> tuple[list[str], list[str]]:
    digester, reads, store = fresh(cache, racy_window_ns)
    digests = digester.scope_digests(paths)
    digester.flush()
    store.close()
    return digests, reads


def test_unchanged_directory_is_answered_from_its_record_without_reading_or_the_stat_cache(ws: Any) -> None:
    paths = tuple(sorted([ws.path("src/a.py"), ws.path("src/b.py"), ws.path("cfg.toml")]))
    first, reads = run_once(ws.cache, paths)
    assert first == [sha("x = 1\n"), sha("import os\n"), sha("print('b')\n")]
    assert sorted(reads) == sorted(paths)
    digester, reads, store = fresh(ws.cache)
    assert digester.scope_digests(paths) == first
    assert reads == []
    # Answered by the directory records alone: the per-file stat cache was never loaded.
    assert digester._persisted is None
    # And the run's snapshot agrees with them, for deps the checks recorded on the same files.
    assert [digester.digest(p) for p in paths] == first
    store.close()


def test_same_size_same_mtime_rewrite_within_the_racy_window_is_seen(ws: Any) -> None:
    target = ws.path("src/a.py")
    paths = (target, ws.path("src/b.py"))
    before = os.stat(target)
    # The file was just written: its directory record must not be trusted by the next run.
    first, _ = run_once(ws.cache, paths, racy_window_ns=RACY_WINDOW_NS)
    assert first[0] == sha("import os\n")
    Path(target).write_text("import re\n")  # same size
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(target).st_size == before.st_size and os.stat(target).st_mtime_ns == before.st_mtime_ns
    again, reads = run_once(ws.cache, paths, racy_window_ns=RACY_WINDOW_NS)
    assert again[0] == sha("import re\n")
    assert target in reads


def test_same_size_same_mtime_rewrite_after_the_record_was_trusted_is_seen(ws: Any) -> None:
    target = ws.path("src/a.py")
    paths = (target, ws.path("src/b.py"))
    before = os.stat(target)
    run_once(ws.cache, paths)  # racy window 0: the record is written
    Path(target).write_text("import re\n")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    again, _ = run_once(ws.cache, paths)
    assert again[0] == sha("import re\n")  # the ctime in the signature moved


def test_a_file_replaced_by_a_directory(ws: Any) -> None:
    target = ws.path("src/a.py")
    paths = (target, ws.path("src/b.py"))
    run_once(ws.cache, paths)
    os.remove(target)
    os.mkdir(target)
    again, _ = run_once(ws.cache, paths)
    assert again == [DIR, sha("print('b')\n")]


def test_a_symlink_retargeted_to_a_file_of_the_same_size_and_mtime(ws: Any) -> None:
    ws.write("t/one.txt", "one\n")
    ws.write("t/two.txt", "two\n")
    one, two = os.stat(ws.path("t/one.txt")), ws.path("t/two.txt")
    os.utime(two, ns=(one.st_atime_ns, one.st_mtime_ns))
    link = ws.path("src/link.txt")
    os.symlink(ws.path("t/one.txt"), link)
    paths = tuple(sorted([link, ws.path("src/a.py")]))
    first, _ = run_once(ws.cache, paths)
    assert first[paths.index(link)] == sha("one\n")
    os.remove(link)
    os.symlink(two, link)
    again, _ = run_once(ws.cache, paths)
    assert again[paths.index(link)] == sha("two\n")


def test_a_changed_file_costs_its_directory_only(ws: Any) -> None:
    paths = tuple(sorted([ws.path("src/a.py"), ws.path("src/b.py"), ws.path("cfg.toml")]))
    run_once(ws.cache, paths)
    Path(ws.path("src/b.py")).write_text("print('changed')\n")
    again, reads = run_once(ws.cache, paths)
    assert again[paths.index(ws.path("src/b.py"))] == sha("print('changed')\n")
    assert reads == [ws.path("src/b.py")]  # a.py via the stat cache, cfg.toml via its directory's record


def _run(spec: Path, cache: str) -> dict[tuple[str, str], tuple[str, bool]]:
    options = ProjectOptions(workspace=str(spec.parent), cache_dir=cache, run=RunOptions(jobs=1))
    with Project(str(spec), options) as project:
        plan = project.plan(project.load_spec())
        report = project.run_plan(plan)
    return {(o.element, o.check): (o.status.value, o.cached) for o in report.outcomes}


def test_a_file_moved_between_two_scoped_folders_reruns_both(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    for folder, names in (("a", ["x.py", "keep.py"]), ("b", ["y.py"])):
        (ws / folder).mkdir(parents=True)
        for name in names:
            (ws / folder / name).write_text(f"# {name}\n")
    spec = ws / "s.hie"
    spec.write_text(
        "element a:\n    scope src = files.folder_selector('a')\n    check files.exists(src, 'x.py')\n"
        "    check files.max_size(src, 100)\n"
        "element b:\n    scope src = files.folder_selector('b')\n    check files.exists(src, 'x.py')\n"
        "    check files.max_size(src, 100)\n"
    )
    cache = str(tmp_path / "cache")
    first = _run(spec, cache)
    assert first[("a", "files.exists(src, 'x.py')")] == ("pass", False)
    assert first[("b", "files.exists(src, 'x.py')")] == ("fail", False)
    assert all(cached for _status, cached in _run(spec, cache).values())
    os.rename(ws / "a" / "x.py", ws / "b" / "x.py")  # keeps size, mtime and inode
    moved = _run(spec, cache)
    assert moved[("a", "files.exists(src, 'x.py')")] == ("fail", False)
    assert moved[("b", "files.exists(src, 'x.py')")] == ("pass", False)
    assert moved[("a", "files.max_size(src, 100)")] == ("pass", False)
    assert moved[("b", "files.max_size(src, 100)")] == ("pass", False)


def test_records_read_one_by_one_then_all_at_once_answer_alike(tmp_path: Path) -> None:
    # More directories than the digester reads one record at a time: the first are single rows, the rest
    # come from the whole table. Every directory gets its files' digests without a read; the forged record
    # (asked for after the budget) is refused with a warning, its files answered by the stat cache.
    import sqlite3

    from hie_tasks.incremental.digests import DIR_SINGLE_LOOKUPS

    cache = str(tmp_path / "cache")
    groups = []
    for d in range(DIR_SINGLE_LOOKUPS + 8):
        folder = tmp_path / "ws" / f"d{d:03}"
        folder.mkdir(parents=True)
        (folder / "a.txt").write_text(f"a{d}\n")
        (folder / "b.txt").write_text(f"b{d}\n")
        groups.append((str(folder / "a.txt"), str(folder / "b.txt")))
    for paths in groups:
        run_once(cache, paths)
    conn = sqlite3.connect(os.path.join(cache, "results.sqlite"))
    with conn:  # forge the record of a directory that is asked for after the budget
        (key,) = [k for (k,) in conn.execute("SELECT key FROM dir_digests")][-1:]
        conn.execute("UPDATE dir_digests SET digests = ? WHERE key = ?", (f"{sha('x')}\n{sha('y')}", key))
    conn.close()
    digester, reads, store = fresh(cache)
    answers = [digester.scope_digests(paths) for paths in groups]
    assert answers == [[sha(f"a{d}\n"), sha(f"b{d}\n")] for d in range(len(groups))]
    assert reads == []
    assert any("did not verify" in w for w in store.take_warnings())
    store.close()
