"""The runner's interface: replay when inputs are unchanged, say exactly why when not."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import Any

from hie_tasks.incremental.digests import FileDigester
from hie_tasks.incremental.fingerprint import FingerprintParts
from hie_tasks.incremental.session import MISS, CheckKey, IncrementalSession
from hie_tasks.incremental.store import ResultStore
from hie_tasks.libraries.base import CallContext, Purity
from hie_tasks.model.values import Scope, ScopeKind, Status

KEY = CheckKey("arch.hie", "app.core", 0, "files.exists(src, 'a.py')")


def open_session(ws: Any, hook: Callable[[str], None] | None = None, **kw: Any) -> IncrementalSession:
    store = ResultStore(ws.cache)
    # Window 0 because the test files were written moments ago (see digests "Racy timestamps").
    return IncrementalSession(store, digester=FileDigester(store, racy_window_ns=0, read_hook=hook), **kw)


def run_once(ws: Any, parts: FingerprintParts, *, purity: Purity = Purity.READS_WORKSPACE,
             status: str = "pass", deps: tuple[str, ...] = (), trees: tuple[str, ...] = (),
             hook: Callable[[str], None] | None = None, **kw: Any) -> tuple[bool, str]:
    """One whole run of one check: lookup, (run and) record. Returns (replayed?, reason)."""
    s = open_session(ws, hook, **kw)
    s.begin_run()
    replay = s.lookup(KEY, parts, purity)
    if replay is None:
        ctx = CallContext(str(ws.root))
        for d in deps:
            ctx.record_dep(d)
        for t in trees:
            ctx.record_tree(t, (".py",))
        ctx.record_output("checked 2 files")
        s.record(KEY, parts, purity, status, None if status == "pass" else "boom", ctx, 12.5)
    reason = s.reason(KEY)
    s.end_run({"total": 1})
    s.close()
    return replay is not None, reason


def test_first_run_records_second_replays(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    assert run_once(ws, parts) == (False, "reran: no previous verdict")
    s = open_session(ws)
    s.begin_run()
    replay = s.lookup(KEY, parts, Purity.READS_WORKSPACE)
    assert replay is not None
    assert (replay.status, replay.message, replay.duration_ms, replay.output) == ("pass", None, 12.5, ["checked 2 files"])
    assert s.reason(KEY) == "replayed: inputs unchanged"
    assert set(s.inputs(KEY)) >= {"text", "identity", "args", "scope[0]"}
    s.close()


def test_status_enum_and_fail_verdicts_are_replayed(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    s = open_session(ws)
    s.begin_run()
    assert s.lookup(KEY, parts, Purity.READS_WORKSPACE) is None
    s.record(KEY, parts, Purity.READS_WORKSPACE, Status.FAIL, "missing a.py", CallContext(str(ws.root)), 1.0)
    s.close()
    s = open_session(ws)
    replay = s.lookup(KEY, parts, Purity.READS_WORKSPACE)
    assert replay is not None and (replay.status, replay.message) == ("fail", "missing a.py")
    s.close()


def test_touch_without_change_still_replays(ws: Any) -> None:
    log: list[str] = []
    parts = ws.parts(ws.scope("src"), "a.py")
    run_once(ws, parts)
    assert run_once(ws, parts, hook=log.append) == (True, "replayed: inputs unchanged")
    assert log == []  # warm stat cache: nothing read
    st = os.stat(ws.path("src/a.py"))
    os.utime(ws.path("src/a.py"), ns=(st.st_atime_ns, st.st_mtime_ns + 3_000_000_000))
    assert run_once(ws, parts, hook=log.append) == (True, "replayed: inputs unchanged")
    assert log == [ws.path("src/a.py")]  # re-read only the touched file


def test_reasons_name_the_changed_scope_file(ws: Any) -> None:
    run_once(ws, ws.parts(ws.scope("src"), "a.py"))
    ws.write("src/a.py", "import sys\n")
    assert run_once(ws, ws.parts(ws.scope("src"), "a.py")) == (False, "reran: scope[0] changed (src/a.py modified)")
    ws.write("src/c.py", "")
    assert run_once(ws, ws.parts(ws.scope("src"), "a.py")) == (False, "reran: scope[0] changed (src/c.py added)")
    os.remove(ws.path("src/b.py"))
    assert run_once(ws, ws.parts(ws.scope("src"), "a.py")) == (False, "reran: scope[0] changed (src/b.py removed)")
    for i in range(5):
        ws.write(f"src/n{i}.py", "")
    _, reason = run_once(ws, ws.parts(ws.scope("src"), "a.py"))
    assert reason == "reran: scope[0] changed (src/n0.py added, src/n1.py added, src/n2.py added, and 2 more)"


def test_reasons_for_static_components(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    run_once(ws, parts)
    assert run_once(ws, ws.parts(ws.scope("src"), "a.py", identity="files@2")) == (False, "reran: plugin identity changed")
    assert run_once(ws, ws.parts(ws.scope("src"), "a.py", identity="files@2", line=9)) == (
        False, "reran: check moved to another file or line")
    both = ws.parts(ws.scope("src"), "b.py", identity="files@2", line=9, text="other")
    assert run_once(ws, both) == (False, "reran: check text changed; arguments changed")


def test_reasons_for_deps_and_trees(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    run_once(ws, parts, deps=("cfg.toml",), trees=("src",))
    assert run_once(ws, parts, deps=("cfg.toml",), trees=("src",))[0]
    ws.write("cfg.toml", "x = 2\n")
    assert run_once(ws, parts, deps=("cfg.toml",), trees=("src",)) == (
        False, "reran: dependency cfg.toml changed (modified)")
    os.remove(ws.path("cfg.toml"))
    assert run_once(ws, parts, deps=("cfg.toml",), trees=("src",)) == (
        False, "reran: dependency cfg.toml changed (deleted)")
    # A new .py file below src/ changes the recorded listing even though the scope (fixed here) did not.
    ws.write("src/deep/new.py", "")
    assert run_once(ws, parts, deps=("cfg.toml",), trees=("src",)) == (
        False, "reran: listing of src/ changed (files ending in .py)")
    ws.write("src/deep/readme.txt", "")
    assert run_once(ws, parts, deps=("cfg.toml",), trees=("src",))[0]


def test_errors_are_recorded_but_never_replayed(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    run_once(ws, parts, status="error")
    assert run_once(ws, parts) == (False, "reran: previous verdict was an error (errors are never replayed)")
    assert run_once(ws, parts)[0]


def test_impure_libraries_are_never_replayed_nor_stored(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py", library="writer")
    for _ in range(2):
        assert run_once(ws, parts, purity=Purity.IMPURE) == (False, "never replayed: library 'writer' is impure")
    store = ResultStore(ws.cache)
    assert store.verdict_keys() == []
    store.close()


def test_pure_libraries_ignore_file_contents(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    run_once(ws, parts, purity=Purity.PURE)
    ws.write("src/a.py", "changed\n")
    assert run_once(ws, ws.parts(ws.scope("src"), "a.py"), purity=Purity.PURE)[0]


def test_refresh_reruns_but_records(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    run_once(ws, parts, status="fail")
    assert run_once(ws, parts, refresh=True) == (False, "reran: --refresh given")
    replay = open_session(ws).lookup(KEY, parts, Purity.READS_WORKSPACE)
    assert replay is not None and replay.status == "pass"  # the refreshed verdict replaced the old one


def test_no_cache_neither_replays_nor_records(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    assert run_once(ws, parts, enabled=False) == (False, "cache disabled")
    assert run_once(ws, parts, enabled=False) == (False, "cache disabled")
    s = IncrementalSession(None)
    s.begin_run()
    assert s.lookup(KEY, parts, Purity.READS_WORKSPACE) is None and s.reason(KEY) == "cache disabled"
    s.record(KEY, parts, Purity.READS_WORKSPACE, "pass", None, CallContext(str(ws.root)), 1.0)
    s.end_run({})
    assert run_once(ws, parts) == (False, "reran: no previous verdict")


def test_selector_cache_validated_by_recorded_trees(ws: Any) -> None:
    value = Scope(ScopeKind.folder("src"), (ws.path("src/a.py"), ws.path("src/b.py")))
    s = open_session(ws)
    s.begin_run()
    assert s.selector_lookup("files@1", "folder_selector", '["src"]', str(ws.root)) is MISS
    ctx = CallContext(str(ws.root))
    ctx.record_tree("src")
    s.selector_record("files@1", "folder_selector", '["src"]', value, ctx)
    s.selector_record("py@1", "nothing", "[]", None, CallContext(str(ws.root)))
    s.close()

    s = open_session(ws)
    s.begin_run()
    assert s.selector_lookup("files@1", "folder_selector", '["src"]', str(ws.root)) == value
    assert s.selector_lookup("py@1", "nothing", "[]", str(ws.root)) is None  # a cached Null is not a miss
    assert s.selector_lookup("files@2", "folder_selector", '["src"]', str(ws.root)) is MISS
    s.close()

    ws.write("src/c.py", "")
    s = open_session(ws)
    s.begin_run()
    assert s.selector_lookup("files@1", "folder_selector", '["src"]', str(ws.root)) is MISS
    s.close()


def test_end_run_records_the_run_and_flushes_the_stat_cache(ws: Any) -> None:
    run_once(ws, ws.parts(ws.scope("src"), "a.py"))
    store = ResultStore(ws.cache)
    runs = store.runs()
    assert len(runs) == 1 and runs[0][2] is not None and runs[0][3] == {"total": 1}
    assert set(store.load_stat_cache()) == {ws.path("src/a.py"), ws.path("src/b.py")}
    store.close()


def test_store_failure_mid_run_degrades_to_no_cache(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    s = open_session(ws)
    s.begin_run()
    assert s._store is not None
    s._store._conn.close()  # the store breaks under the session (as with a vanished disk)
    assert s.lookup(KEY, parts, Purity.READS_WORKSPACE) is None
    assert s.reason(KEY) == "cache disabled"
    assert len(s.warnings) == 1 and "continuing without it" in s.warnings[0]
    s.record(KEY, parts, Purity.READS_WORKSPACE, "pass", None, CallContext(str(ws.root)), 1.0)
    s.end_run({})
    s.close()


def test_shared_scopes_are_stored_once_and_pruned_when_unreferenced(ws: Any) -> None:
    def run_checks() -> None:
        s = open_session(ws)
        s.begin_run()
        for i in range(20):
            key = CheckKey("arch.hie", f"e{i}", 0, "c")
            parts = ws.parts(ws.scope("src"), f"{i}.py")
            if s.lookup(key, parts, Purity.READS_WORKSPACE) is None:
                s.record(key, parts, Purity.READS_WORKSPACE, "pass", None, CallContext(str(ws.root)), 1.0)
        s.end_run({})
        s.close()

    def scope_rows() -> int:
        conn = sqlite3.connect(os.path.join(ws.cache, "results.sqlite"))
        n: int = conn.execute("SELECT count(*) FROM scope_sets").fetchone()[0]
        conn.close()
        return n

    run_checks()
    assert scope_rows() == 1
    ws.write("src/a.py", "edited\n")
    run_checks()
    assert scope_rows() == 1  # the old set is no longer referenced and was pruned at end_run
