"""The sqlite store: damaged files are moved aside, two processes share it, kill -9 loses no whole rows."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from hie_tasks.incremental.digests import FileDigester
from hie_tasks.incremental.session import CheckKey, IncrementalSession
from hie_tasks.incremental.store import DB_NAME, SCHEMA_VERSION, ResultStore, StoredVerdict
from hie_tasks.libraries.base import CallContext, Purity

# fork: the workers are closures over test data; spawn would need them importable by module name.
MP = multiprocessing.get_context("fork")


def aside_files(cache: str) -> list[str]:
    return sorted(n for n in os.listdir(cache) if ".corrupt-" in n)


def assert_usable(cache: str) -> None:
    store = ResultStore(cache)
    v = StoredVerdict("fp", {"text": "t"}, {}, [], "pass", None, 1.0, [])
    store.put_verdict("k", v)
    got = store.get_verdict("k")
    assert got is not None and got.fingerprint == "fp"
    store.close()


def test_fresh_store_is_wal_with_schema_version(tmp_path: Path) -> None:
    store = ResultStore(str(tmp_path / "c"))
    store.close()
    conn = sqlite3.connect(tmp_path / "c" / DB_NAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    conn.close()


def _trace_statements(monkeypatch: Any) -> list[str]:
    """Every statement the stores opened from now on run while opening."""
    seen: list[str] = []
    real = ResultStore._connect

    def connect(self: ResultStore) -> sqlite3.Connection:
        conn = real(self)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(ResultStore, "_connect", connect)
    return seen


def test_a_ready_store_opens_without_a_write_transaction(tmp_path: Path, monkeypatch: Any) -> None:
    cache = str(tmp_path / "c")
    ResultStore(cache).close()
    seen = _trace_statements(monkeypatch)
    ResultStore(cache).close()
    assert seen and not any(s.startswith(("BEGIN", "CREATE", "ALTER")) for s in seen), seen


def test_a_table_dropped_by_hand_is_made_again(tmp_path: Path, monkeypatch: Any) -> None:
    # Marked ready, but not what `_initialise` made any more: opening makes it again instead of trusting it.
    cache = str(tmp_path / "c")
    ResultStore(cache).close()
    conn = sqlite3.connect(os.path.join(cache, DB_NAME))
    conn.execute("DROP TABLE runs")
    conn.commit()
    conn.close()
    seen = _trace_statements(monkeypatch)
    store = ResultStore(cache)
    assert any("CREATE TABLE IF NOT EXISTS runs" in s for s in seen)
    assert store.begin_run() >= 1
    store.close()
    assert_usable(cache)


def test_a_store_of_an_older_hie_tasks_is_brought_up_to_date(tmp_path: Path) -> None:
    # Written before stores were marked ready (user_version 0) and before rows were signed and sequenced.
    cache = str(tmp_path / "c")
    ResultStore(cache).close()
    conn = sqlite3.connect(os.path.join(cache, DB_NAME))
    conn.execute("DROP INDEX verdicts_seq")
    for column in ("seq", "mac"):
        conn.execute(f"ALTER TABLE verdicts DROP COLUMN {column}")
    conn.execute("DELETE FROM meta WHERE key = 'scope_refs'")
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.close()
    assert_usable(cache)
    conn = sqlite3.connect(os.path.join(cache, DB_NAME))
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert {"mac", "seq"} <= {r[1] for r in conn.execute("PRAGMA table_info(verdicts)")}
    conn.close()


def test_garbage_file_is_moved_aside_with_a_warning(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    cache.mkdir()
    garbage = os.urandom(4096)
    (cache / DB_NAME).write_bytes(garbage)
    store, warnings = ResultStore.try_open(str(cache))
    assert store is not None
    assert len(warnings) == 1 and "not a SQLite database" in warnings[0] and str(cache / DB_NAME) in warnings[0]
    moved = aside_files(str(cache))
    assert len(moved) == 1 and moved[0] in warnings[0]
    assert (cache / moved[0]).read_bytes() == garbage  # nothing silently lost
    store.close()
    assert_usable(str(cache))


def test_newer_schema_version_is_moved_aside(tmp_path: Path) -> None:
    cache = str(tmp_path / "c")
    ResultStore(cache).close()
    conn = sqlite3.connect(os.path.join(cache, DB_NAME))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    store = ResultStore(cache)
    assert len(store.warnings) == 1 and f"schema_version is '{SCHEMA_VERSION + 1}'" in store.warnings[0]
    assert len(aside_files(cache)) >= 1
    store.close()
    assert_usable(cache)
    # The fresh store does not warn again.
    assert ResultStore.try_open(cache)[1] == []


def test_stale_wal_of_a_garbage_file_is_moved_too(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / DB_NAME).write_bytes(b"not sqlite at all" * 100)
    (cache / (DB_NAME + "-wal")).write_bytes(b"junk wal")
    store = ResultStore(str(cache))
    moved = aside_files(str(cache))
    assert len(moved) == 2 and (cache / next(n for n in moved if n.endswith("-wal"))).read_bytes() == b"junk wal"
    store.close()
    assert_usable(str(cache))


def test_unusable_directory_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("I am a file")
    store, warnings = ResultStore.try_open(str(tmp_path / "file" / "cache"))
    assert store is None
    assert len(warnings) == 1 and "cannot create the result cache directory" in warnings[0] and "--no-cache" in warnings[0]


def _key(i: int, who: str) -> CheckKey:
    return CheckKey("arch.hie", f"{who}.e{i}", i, f"files.exists(s, '{i}')")


def _worker(cache: str, ws: str, who: str, n: int, result: Any) -> None:
    try:
        store = ResultStore(cache)
        s = IncrementalSession(store, digester=FileDigester(store, racy_window_ns=0))
        s.begin_run()
        hits = 0
        for i in range(n):
            for key in (_key(i, who), _key(i, "shared")):
                parts = _parts(ws, key)
                if s.lookup(key, parts, Purity.READS_WORKSPACE) is not None:
                    hits += 1
                    continue
                ctx = CallContext(ws)
                ctx.record_dep("cfg.toml")
                ctx.record_output(f"{who} ran {key.element}")
                s.record(key, parts, Purity.READS_WORKSPACE, "pass", None, ctx, 0.5)
        s.end_run({"total": n})
        s.close()
        result.put((who, "ok", hits, s.warnings))
    except BaseException as exc:
        result.put((who, "error", 0, [repr(exc)]))


def _parts(ws: str, key: CheckKey) -> Any:
    from hie_tasks.incremental.fingerprint import FingerprintParts
    from hie_tasks.model.values import Scope, ScopeKind

    scope = Scope(ScopeKind.file("cfg.toml"), (os.path.join(ws, "cfg.toml"),))
    return FingerprintParts(key.text, key.spec_file, key.index + 1, "files", "files@1", "exists", [scope, key.index],
                            workspace=ws)


def test_two_processes_record_and_look_up_500_verdicts_each(ws: Any) -> None:
    result = MP.Queue()
    procs = [MP.Process(target=_worker, args=(ws.cache, str(ws.root), who, 500, result)) for who in ("p1", "p2")]
    for p in procs:
        p.start()
    outcomes = [result.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    for who, status, _hits, warnings in outcomes:
        assert status == "ok" and warnings == [], (who, warnings)
    # Both processes wrote the same "shared" checks; whichever came second replayed some of them.
    assert sum(o[2] for o in outcomes) > 0

    store = ResultStore(ws.cache)
    keys = store.verdict_keys()
    assert len(keys) == 1500
    assert len(store.runs()) == 2 and all(r[2] is not None for r in store.runs())
    store.close()
    s = IncrementalSession(ResultStore(ws.cache))
    for who in ("p1", "p2", "shared"):
        for i in range(0, 500, 50):
            assert s.lookup(_key(i, who), _parts(str(ws.root), _key(i, who)), Purity.READS_WORKSPACE) is not None
    s.close()
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def _endless_recorder(cache: str, ws: str, progress: Any) -> None:
    store = ResultStore(cache)
    s = IncrementalSession(store, digester=FileDigester(store, racy_window_ns=0))
    s.begin_run()
    i = 0
    while True:
        key = _key(i, "victim")
        ctx = CallContext(ws)
        ctx.record_dep("cfg.toml")
        ctx.record_output("x" * 20_000)  # make each row big enough that kill lands mid-write now and then
        s.record(key, _parts(ws, key), Purity.READS_WORKSPACE, "fail", f"verdict {i}", ctx, float(i))
        with progress.get_lock():
            progress.value = i + 1
        i += 1


def test_kill_9_mid_run_leaves_only_whole_rows(ws: Any) -> None:
    progress = MP.Value("i", 0)
    child = MP.Process(target=_endless_recorder, args=(ws.cache, str(ws.root), progress))
    child.start()
    deadline = time.monotonic() + 120
    while progress.value < 60 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL
    recorded = progress.value
    assert recorded >= 60

    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT key, fingerprint, breakdown, deps, output, message, duration_ms FROM verdicts").fetchall()
    conn.close()
    # Every verdict the child reported as recorded is there (committed before it counted), maybe one more.
    assert recorded <= len(rows) <= recorded + 1
    for _key_text, fingerprint, breakdown, deps, output, message, duration in rows:
        assert len(fingerprint) == 64 and json.loads(breakdown) and json.loads(deps)
        assert json.loads(output) == ["x" * 20_000] and message == f"verdict {int(duration)}"

    s = IncrementalSession(ResultStore(ws.cache))
    for i in range(len(rows)):
        key = _key(i, "victim")
        replay = s.lookup(key, _parts(str(ws.root), key), Purity.READS_WORKSPACE)
        assert replay is not None and replay.message == f"verdict {i}"
        # Same key, different static inputs: never the stored verdict.
        other = _parts(str(ws.root), CheckKey(key.spec_file, key.element, key.index + 1, key.text))
        assert s.lookup(key, other, Purity.READS_WORKSPACE) is None
        assert s.reason(key).startswith("reran: check moved")
    s.close()


def test_damage_found_mid_run_disables_the_cache_and_moves_the_file_aside(ws: Any) -> None:
    s = IncrementalSession(ResultStore(ws.cache))
    keys = [_key(i, "big") for i in range(300)]
    for key in keys:
        ctx = CallContext(str(ws.root))
        ctx.record_output("y" * 3000)
        s.record(key, _parts(str(ws.root), key), Purity.READS_WORKSPACE, "pass", None, ctx, 1.0)
    s.close()
    conn = sqlite3.connect(os.path.join(ws.cache, DB_NAME))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    db = Path(ws.cache) / DB_NAME
    data = bytearray(db.read_bytes())
    # Keep the header page and the schema intact so opening succeeds; wreck the b-tree pages behind them.
    data[3 * 4096 :] = os.urandom(len(data) - 3 * 4096)
    db.write_bytes(bytes(data))

    s = IncrementalSession(ResultStore(ws.cache))
    s.begin_run()
    replays = [s.lookup(key, _parts(str(ws.root), key), Purity.READS_WORKSPACE) for key in keys]
    assert s.reason(keys[-1]) == "cache disabled"
    assert any("failed" in w for w in s.warnings) and any("moved to" in w for w in s.warnings)
    # Whatever was read before the damage showed up was read from intact rows.
    assert all(r is None or r.output == ["y" * 3000] for r in replays)
    s.end_run({})
    s.close()
    assert len(aside_files(ws.cache)) >= 1
    assert ResultStore.try_open(ws.cache)[1] == []  # next run: a fresh, quiet store
    assert_usable(ws.cache)


def test_only_the_newest_corrupt_stores_are_kept(tmp_path: Path) -> None:
    from hie_tasks.incremental.store import KEEP_CORRUPT

    root = tmp_path / "cache"
    for _ in range(KEEP_CORRUPT + 3):
        root.mkdir(exist_ok=True)
        (root / DB_NAME).write_bytes(b"this is not sqlite at all" * 10)
        ResultStore(str(root)).close()
    kept = sorted(n for n in os.listdir(root) if ".corrupt-" in n and not n.endswith(("-wal", "-shm")))
    assert len(kept) == KEEP_CORRUPT
