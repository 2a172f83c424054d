"""File digests, the stat cache and directory-listing digests, on real files."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hie_tasks.incremental.digests import ABSENT, DIR, SPECIAL, UNREADABLE, FileDigester
from hie_tasks.incremental.store import ResultStore
from hie_tasks.libraries.base import TreeDep

ReadLog = tuple[list[str], Callable[[str], None]]


def test_digest_is_sha256_of_content_and_markers(ws: Any, tmp_path: Path) -> None:
    d = FileDigester(None)
    assert d.digest(ws.path("src/a.py")) == hashlib.sha256(b"import os\n").hexdigest()
    assert d.digest(ws.path("missing.py")) == ABSENT
    assert d.digest(ws.path("src/a.py/below")) == ABSENT
    assert d.digest(ws.path("src")) == DIR
    os.symlink(ws.path("nowhere"), ws.path("dangling"))
    assert d.digest(ws.path("dangling")) == ABSENT
    os.mkfifo(ws.path("fifo"))
    assert d.digest(ws.path("fifo")) == SPECIAL  # and did not block on open()


def test_large_file_is_hashed_in_chunks_to_the_same_digest(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    (tmp_path / "big.bin").write_bytes(data)
    assert FileDigester(None).digest(str(tmp_path / "big.bin")) == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file(ws: Any) -> None:
    os.chmod(ws.path("cfg.toml"), 0)
    try:
        assert FileDigester(None).digest(ws.path("cfg.toml")) == UNREADABLE
    finally:
        os.chmod(ws.path("cfg.toml"), 0o644)


def test_touch_without_change_rereads_once_and_digest_is_equal(ws: Any, read_log: ReadLog) -> None:
    log, hook = read_log
    store = ResultStore(ws.cache)
    # Window 0: the files were written a moment ago and would otherwise be "racy" (never persisted).
    d = FileDigester(store, racy_window_ns=0, read_hook=hook)
    first = d.digest(ws.path("src/a.py"))
    d.flush()
    assert log == [ws.path("src/a.py")]

    # Next run, stat unchanged: served from the stat cache, no read.
    d.begin_run()
    assert d.digest(ws.path("src/a.py")) == first
    assert len(log) == 1

    # touch: mtime changes, content does not → re-read once, same digest.
    st = os.stat(ws.path("src/a.py"))
    os.utime(ws.path("src/a.py"), ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    d.begin_run()
    assert d.digest(ws.path("src/a.py")) == first
    assert len(log) == 2

    # Same content rewritten (new ctime) → re-read; different content of the same size → different digest.
    d.begin_run()
    ws.write("src/a.py", "import re\n")
    assert d.digest(ws.path("src/a.py")) != first
    assert len(log) == 3
    store.close()


def test_stat_cache_persists_across_sessions(ws: Any, read_log: ReadLog) -> None:
    log, hook = read_log
    rels = [f"pkg/m{i}.py" for i in range(40)]
    for i, rel in enumerate(rels):
        ws.write(rel, f"value = {i}\n")
    store = ResultStore(ws.cache)
    d1 = FileDigester(store, racy_window_ns=0)
    first = {r: d1.digest(ws.path(r)) for r in rels}
    d1.flush()
    store.close()

    reopened = ResultStore(ws.cache)
    d2 = FileDigester(reopened, racy_window_ns=0, read_hook=hook)
    assert {r: d2.digest(ws.path(r)) for r in rels} == first
    assert log == []  # no file content read at all
    reopened.close()


def test_racy_entries_are_not_persisted(ws: Any, read_log: ReadLog) -> None:
    log, hook = read_log
    store = ResultStore(ws.cache)
    d1 = FileDigester(store)  # default 2 s window; cfg.toml was written just now
    d1.digest(ws.path("cfg.toml"))
    d1.flush()
    d2 = FileDigester(store, read_hook=hook)
    d2.digest(ws.path("cfg.toml"))
    assert log == [ws.path("cfg.toml")]

    d3 = FileDigester(store, racy_window_ns=0)
    d3.digest(ws.path("cfg.toml"))
    d3.flush()
    log.clear()
    FileDigester(store, racy_window_ns=0, read_hook=hook).digest(ws.path("cfg.toml"))
    assert log == []
    store.close()


def test_snapshot_within_a_run_and_refresh_on_begin_run(ws: Any, read_log: ReadLog) -> None:
    log, hook = read_log
    d = FileDigester(None, read_hook=hook)
    before = d.digest(ws.path("src/b.py"))
    ws.write("src/b.py", "print('changed')\n")
    assert d.digest(ws.path("src/b.py")) == before
    assert len(log) == 1
    d.begin_run()
    assert d.digest(ws.path("src/b.py")) != before


def test_concurrent_digests_agree_and_hash_each_file_once(ws: Any, read_log: ReadLog) -> None:
    log, hook = read_log
    rels = [f"many/f{i}.txt" for i in range(150)]
    for i, rel in enumerate(rels):
        ws.write(rel, f"{i}\n" * (i + 1))
    expected = {r: hashlib.sha256((f"{i}\n" * (i + 1)).encode()).hexdigest() for i, r in enumerate(rels)}
    d = FileDigester(None, read_hook=hook)
    results: list[dict[str, str]] = []

    def work() -> None:
        results.append({r: d.digest(ws.path(r)) for r in rels})

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)
    # Threads may race to hash the same file, but each file is read at most once per racing thread and
    # never again once memoised.
    before = len(log)
    work()
    assert len(log) == before


def test_tree_digest_tracks_names_not_contents(ws: Any) -> None:
    tree = TreeDep(ws.path("src"), (".py",), ("build",))

    def fresh() -> str:
        return FileDigester(None).tree_digest(tree)

    base = fresh()
    ws.write("src/a.py", "changed content\n")
    assert fresh() == base  # contents are not part of a listing
    ws.write("src/notes.txt", "x")
    assert fresh() == base  # suffix filter
    ws.write("src/build/gen.py", "x")
    assert fresh() == base  # excluded directory not entered
    os.symlink(ws.path("src/build"), ws.path("src/link"))
    assert fresh() == base  # symlinked directory not entered
    ws.write("src/pkg/new.py", "x")
    added = fresh()
    assert added != base
    os.remove(ws.path("src/pkg/new.py"))
    assert fresh() == base
    os.rename(ws.path("src/b.py"), ws.path("src/c.py"))
    assert fresh() != base
    assert FileDigester(None).tree_digest(TreeDep(ws.path("nope"))) == ABSENT
