"""A run's store work follows what it looks up and records, not the size of the store — and the shortcuts
that make it so (pruning scope sets with their last user, a verdict snapshot kept by a long-lived session,
reason rows compared by key, directory records checked when relied on) answer as a full pass would."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from hie_tasks.incremental.digests import FileDigester, dir_record_key, hash_text, stat_signature
from hie_tasks.incremental.session import CheckKey, IncrementalSession
from hie_tasks.incremental.store import DB_NAME, ResultStore
from hie_tasks.libraries.base import CallContext, Purity

ROOT = Path(__file__).resolve().parents[2]
KEY_A = CheckKey("arch.hie", "app", 0, "files.exists(src, 'a.py')")
KEY_B = CheckKey("arch.hie", "app", 1, "files.max_size(src, 100)")
RW = Purity.READS_WORKSPACE


def _session(ws: Any) -> IncrementalSession:
    store = ResultStore(ws.cache)
    return IncrementalSession(store, digester=FileDigester(store, racy_window_ns=0))


def _parts(ws: Any, key: CheckKey) -> Any:
    return ws.parts(ws.scope("src"), "a.py", text=key.text, line=3 + key.index)


def _run(s: IncrementalSession, ws: Any, keys: tuple[CheckKey, ...], status: str = "pass") -> set[CheckKey]:
    """One run over `keys`: each is replayed or recorded; returns those that reran."""
    s.begin_run()
    reran = set()
    for key in keys:
        if s.lookup(key, _parts(ws, key), RW) is None:
            reran.add(key)
            s.record(key, _parts(ws, key), RW, status, None, CallContext(str(ws.root)), 1.0)
    s.end_run({})
    return reran


def _sets(ws: Any) -> set[str]:
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    found = {r[0] for r in conn.execute("SELECT digest FROM scope_sets")}
    conn.close()
    return found


def _scope_digest(s: IncrementalSession, ws: Any) -> str:
    s.begin_run()
    digest = s._fingerprint(KEY_A, _parts(ws, KEY_A), RW).breakdown["scope[0]"]
    s.end_run({})
    return digest


# ------------------------------------------------------------------------------------------ scope sets


def test_a_scope_set_another_check_still_uses_is_kept_and_goes_with_its_last_user(ws: Any) -> None:
    s = _session(ws)
    assert _run(s, ws, (KEY_A, KEY_B)) == {KEY_A, KEY_B}
    old = _scope_digest(s, ws)
    assert _sets(ws) == {old}
    ws.write("src/b.py", "print('changed')\n")
    new = _scope_digest(s, ws)
    # Only A reruns (B is not part of this run, as in a watch cycle focused on A): B still uses the old set.
    assert _run(s, ws, (KEY_A,)) == {KEY_A}
    assert _sets(ws) == {old, new}
    # ... so B's reason can still say what changed, which needs the set it was recorded with.
    s.begin_run()
    assert s.lookup(KEY_B, _parts(ws, KEY_B), RW) is None
    assert s.reason(KEY_B) == "reran: scope[0] changed (src/b.py modified)"
    s.record(KEY_B, _parts(ws, KEY_B), RW, "pass", None, CallContext(str(ws.root)), 1.0)
    s.end_run({})
    # B was the old set's last user.
    assert _sets(ws) == {new}
    s.close()


def test_a_set_orphaned_by_an_older_writer_is_swept_and_references_survive_reopening(ws: Any) -> None:
    s = _session(ws)
    _run(s, ws, (KEY_A, KEY_B))
    s.close()
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    with conn:
        # An older hie-tasks replaced A and B without keeping scope_refs, leaving this set unused.
        conn.execute("INSERT INTO scope_sets (digest, paths) VALUES ('orphan', '{}')")
    conn.close()
    store = ResultStore(ws.cache)
    assert store.prune_scope_sets() == 1
    assert "orphan" not in store.scope_set_digests() and len(store.scope_set_digests()) == 1
    store.close()


def test_a_store_from_before_scope_refs_is_migrated_once_and_prunes_correctly(ws: Any) -> None:
    s = _session(ws)
    _run(s, ws, (KEY_A, KEY_B))
    old = _scope_digest(s, ws)
    s.close()
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    with conn:
        conn.execute("DROP TABLE scope_refs")
        conn.execute("DELETE FROM meta WHERE key IN ('scope_refs', 'verdict_seq')")
        conn.execute("DROP INDEX verdicts_seq")
        conn.execute("ALTER TABLE verdicts DROP COLUMN seq")
    conn.close()
    s = _session(ws)  # opening migrates: references rebuilt from the verdicts
    ws.write("src/b.py", "print('changed')\n")
    assert _run(s, ws, (KEY_A,)) == {KEY_A}
    assert old in _sets(ws)  # B, recorded before the migration, still uses it
    assert _run(s, ws, (KEY_B,)) == {KEY_B}
    assert old not in _sets(ws)
    assert _run(s, ws, (KEY_A, KEY_B)) == set()
    s.close()


# ------------------------------------------------------------------------------------------ long-lived session


_OTHER_PROCESS = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from incremental.conftest import Workspace
from incremental.test_follow_the_change import KEY_A, _parts, _run, _session
ws = Workspace(Path({root!r}))
s = _session(ws)
reran = _run(s, ws, (KEY_A,), status={status!r})
s.close()
print(len(reran))
"""


def _other_process(ws: Any, status: str) -> int:
    code = _OTHER_PROCESS.format(tests=str(ROOT / "tests"), root=str(ws.root), status=status)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout)


def test_a_long_lived_session_sees_verdicts_another_process_recorded_meanwhile(ws: Any) -> None:
    s = _session(ws)
    assert _run(s, ws, (KEY_A,), status="pass") == {KEY_A}
    assert _run(s, ws, (KEY_A,)) == set()
    ws.write("src/b.py", "print('changed')\n")
    # Another process sees the edit first and records A's verdict for the new inputs.
    assert _other_process(ws, "fail") == 1
    s.begin_run()
    replay = s.lookup(KEY_A, _parts(ws, KEY_A), RW)
    s.end_run({})
    # Replayed from the other process's row (the snapshot from before the edit would have rerun it).
    assert replay is not None and replay.status == "fail"
    # And nothing is fetched again while no one else writes.
    assert _run(s, ws, (KEY_A,)) == set()
    s.close()


def test_a_row_replaced_by_one_that_does_not_verify_leaves_the_snapshot(ws: Any) -> None:
    s = _session(ws)
    _run(s, ws, (KEY_A,))
    other = ResultStore(ws.cache)  # another connection: what another process would do
    with other.transaction():
        other._conn.execute("UPDATE verdicts SET status = 'fail', mac = 'forged', seq = seq + 100")
    other.close()
    s.begin_run()
    assert s.lookup(KEY_A, _parts(ws, KEY_A), RW) is None  # a fresh run would ignore the row too
    s.end_run({})
    assert any("did not verify" in w for w in s._store.take_warnings())  # type: ignore[union-attr]
    s.close()


def _statements_of_a_run(s: IncrementalSession, ws: Any, keys: tuple[CheckKey, ...]) -> list[str]:
    seen: list[str] = []
    store = s._store
    assert store is not None
    store._conn.set_trace_callback(seen.append)
    try:
        _run(s, ws, keys)
    finally:
        store._conn.set_trace_callback(None)
    return seen


def _whole_table_reads(statements: list[str]) -> list[str]:
    return [q for q in statements if q.lstrip().upper().startswith("SELECT") and " WHERE " not in q.upper()]


def test_a_later_run_of_a_long_lived_session_reads_no_whole_table(ws: Any) -> None:
    for i in range(30):
        ws.write(f"src/m{i}.py", f"V = {i}\n")
    s = _session(ws)
    keys = tuple(CheckKey("arch.hie", "app", i, f"files.exists(src, 'm{i}.py')") for i in range(30))
    first = _statements_of_a_run(s, ws, keys)
    assert _whole_table_reads(first)  # the first run reads the verdicts in one query
    ws.write("src/m3.py", "V = 'edited'\n")
    # A watch cycle: the two checks the edit affects; every other verdict is carried over by the caller.
    later = _statements_of_a_run(s, ws, keys[:2])
    assert _whole_table_reads(later) == []
    assert not any("FROM last_reasons" in q and " IN (" not in q for q in later if q.startswith("SELECT"))
    s.close()


# ------------------------------------------------------------------------------------------ directory records


def test_a_forged_directory_record_is_ignored_with_a_warning_and_the_check_reruns(ws: Any) -> None:
    s = _session(ws)
    assert _run(s, ws, (KEY_A,)) == {KEY_A}
    s.close()
    target = ws.path("src/b.py")
    paths = [ws.path("src/a.py"), target]
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    key = dir_record_key(ws.path("src"), paths)
    old_digests = conn.execute("SELECT digests FROM dir_digests WHERE key = ?", (key,)).fetchone()[0]
    conn.close()
    Path(target).write_text("print('an edit the forged record hides')\n")
    # The forgery: today's stat signatures vouching for yesterday's digests (the MAC cannot be made).
    forged = stat_signature([os.stat(p) for p in paths])
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    with conn:
        assert conn.execute("UPDATE dir_digests SET stats = ? WHERE key = ?", (forged, key)).rowcount == 1
    conn.close()
    s = _session(ws)
    s.begin_run()
    assert s.lookup(KEY_A, _parts(ws, KEY_A), RW) is None
    assert s.reason(KEY_A) == "reran: scope[0] changed (src/b.py modified)"
    assert s._fingerprint(KEY_A, _parts(ws, KEY_A), RW).scope_paths["scope[0]"]["src/b.py"] == hash_text(
        "print('an edit the forged record hides')\n")
    s.end_run({})
    warnings = s._store.take_warnings()  # type: ignore[union-attr]
    assert len(warnings) == 1 and "1 stored file digest record" in warnings[0]
    s.close()
    assert old_digests  # the row was there to forge


def test_unsigned_directory_records_of_an_older_store_are_not_believed(ws: Any) -> None:
    s = _session(ws)
    _run(s, ws, (KEY_A,))
    s.close()
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    with conn:
        conn.execute("UPDATE dir_digests SET mac = NULL")
    conn.close()
    reads: list[str] = []
    store = ResultStore(ws.cache)
    digester = FileDigester(store, racy_window_ns=0, read_hook=reads.append)
    paths = (ws.path("src/a.py"), ws.path("src/b.py"))
    assert digester.scope_digests(paths) == [hash_text("import os\n"), hash_text("print('b')\n")]
    assert store.take_warnings()  # the record was consulted, and refused
    digester.flush()
    store.close()
    # Hashed through the stat cache instead; the record is rewritten, signed, and believed next time.
    store = ResultStore(ws.cache)
    again = FileDigester(store, racy_window_ns=0, read_hook=reads.append)
    assert again.scope_digests(paths) == [hash_text("import os\n"), hash_text("print('b')\n")]
    assert store.take_warnings() == [] and again._persisted is None
    store.close()


def test_same_parts_other_text_do_not_share_a_storage_row(ws: Any) -> None:
    # Guards the helpers above: the two keys are distinct checks over one scope.
    assert _parts(ws, KEY_A).replace(text=KEY_B.text, line=4) == _parts(ws, KEY_B)
    assert KEY_A.storage_key() != KEY_B.storage_key()


def test_a_forged_stat_cache_entry_is_ignored_with_a_warning(ws: Any) -> None:
    target = ws.path("src/b.py")
    store = ResultStore(ws.cache)
    digester = FileDigester(store, racy_window_ns=0)
    assert digester.digest(target) == hash_text("print('b')\n")
    digester.flush()
    store.close()
    Path(target).write_text("print('an edit the forged entry hides')\n")
    st = os.stat(target)
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    with conn:  # today's stat vouching for yesterday's digest, under the old MAC
        assert conn.execute("UPDATE stat_cache SET size = ?, mtime_ns = ?, ino = ?, ctime_ns = ? WHERE path = ?",
                            (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, target)).rowcount == 1
    conn.close()
    reads: list[str] = []
    store = ResultStore(ws.cache)
    digester = FileDigester(store, racy_window_ns=0, read_hook=reads.append)
    assert digester.digest(target) == hash_text("print('an edit the forged entry hides')\n")
    assert reads == [target]
    warnings = store.take_warnings()
    assert len(warnings) == 1 and "1 stored file digest record" in warnings[0]
    store.close()


def test_an_edit_looks_up_its_directory_s_stat_entries_without_loading_the_whole_cache(ws: Any) -> None:
    for i in range(20):
        ws.write(f"other/f{i}.py", f"V = {i}\n")
    paths = tuple(sorted([ws.path("src/a.py"), ws.path("src/b.py"), *(ws.path(f"other/f{i}.py") for i in range(20))]))
    store = ResultStore(ws.cache)
    first = FileDigester(store, racy_window_ns=0)
    first.scope_digests(paths)
    first.flush()
    Path(ws.path("src/b.py")).write_text("print('edited')\n")
    reads: list[str] = []
    digester = FileDigester(store, racy_window_ns=0, read_hook=reads.append)
    got = digester.scope_digests(paths)
    assert got[paths.index(ws.path("src/b.py"))] == hash_text("print('edited')\n")
    assert got[paths.index(ws.path("src/a.py"))] == hash_text("import os\n")
    assert reads == [ws.path("src/b.py")] and digester._persisted is None
    store.close()
