"""The shortcuts that make a no-op run cheap give exactly the answers of the straightforward computation."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from hie_tasks.engine.planned import Plan, PlannedCheck
from hie_tasks.engine.results import CheckOutcome
from hie_tasks.engine.runner import Runner, RunOptions
from hie_tasks.incremental.digests import FileDigester, hash_text
from hie_tasks.incremental.fingerprint import (
    RECIPE,
    FingerprintMemo,
    _args_without_paths,
    canonical_json,
    compute_fingerprint,
    iter_scopes,
    scope_component,
)
from hie_tasks.incremental.session import CheckKey, IncrementalSession
from hie_tasks.incremental.store import ResultStore
from hie_tasks.libraries.base import CallContext, Purity
from hie_tasks.libraries.builtin import FilesLibrary
from hie_tasks.model.codec import dumps_canonical
from hie_tasks.model.values import Scope, ScopeKind, Value
from hie_tasks.output.json_report import pretty_json


def reference_fingerprint(parts: Any, digester: FileDigester) -> tuple[str, dict[str, str]]:
    """The recipe of fingerprint.py's docstring, spelled out with `dumps_canonical` and no memo."""
    breakdown = {
        "version": hash_text(parts.version),
        "text": hash_text(parts.text),
        "location": hash_text(f"{parts.spec_file}:{parts.line}"),
        "library": hash_text(parts.library),
        "identity": hash_text(parts.identity.replace(parts.workspace, "\ue000")),
        "function": hash_text(parts.function),
        "args": hash_text(dumps_canonical(_args_without_paths(parts.args))),
        "recipe": hash_text(RECIPE),
    }
    prefix = parts.workspace + os.sep
    for i, scope in enumerate(iter_scopes(parts.args)):
        breakdown[f"scope[{i}]"] = scope_component(
            {p.removeprefix(prefix): digester.digest(p) for p in scope.paths})
    return hash_text(dumps_canonical(breakdown)), breakdown


def test_memoised_fingerprints_equal_the_reference_recipe(ws: Any) -> None:
    src, other = ws.scope("src"), Scope(ScopeKind.glob('we"ird\\*.py'), (ws.path("cfg.toml"),), False)
    arg_lists: list[list[Value]] = [
        [src, "a.py"], [src, 1], [src, 1.0], [src, True], [src, 0.0], [src, -0.0], [src, None],
        [other, src], [src, other], [src, [other, src], "x"], [src, src], ["ünï\u2028", 3],
    ]
    memo = FingerprintMemo()
    digester = FileDigester(None)
    for _ in range(2):  # the second round answers from the memo
        for args in arg_lists:
            parts = ws.parts(*args)
            fp = compute_fingerprint(parts, digester, memo=memo)
            assert (fp.value, fp.breakdown) == reference_fingerprint(parts, digester), args


def test_memo_keeps_equal_looking_values_apart(ws: Any) -> None:
    memo = FingerprintMemo()
    digester = FileDigester(None)
    src = ws.scope("src")
    seen = {compute_fingerprint(ws.parts(src, v), digester, memo=memo).breakdown["args"] for v in (1, True, 1.0, 0.0, -0.0)}
    assert len(seen) == 5


def test_canonical_json_is_dumps_canonical() -> None:
    for data in ([1, "é", {"b": 1, "a": [None, 1.5, "\u2028"]}], {"scope[1]": "ab", "args": "cd"}):
        assert canonical_json(data) == dumps_canonical(data)


def test_pretty_json_is_the_standard_indented_form() -> None:
    doc: dict[str, Any] = {
        "s": ["a\nb", "é\u2028x\x00", ""], "n": [0, -3, 1.5e300, float("nan"), float("inf"), -0.0],
        "b": [True, False, None], "empty": [{}, []], "nested": {"x": [{"y": {"z": []}}]},
    }
    assert pretty_json(doc) == json.dumps(doc, indent=2, ensure_ascii=False)
    doc["tuple"] = (1, 2)  # not produced by reports; falls back to the standard encoder
    doc["keys"] = {1: "int key"}
    assert pretty_json(doc) == json.dumps(doc, indent=2, ensure_ascii=False)


def _session(ws: Any) -> IncrementalSession:
    store = ResultStore(ws.cache)
    return IncrementalSession(store, digester=FileDigester(store, racy_window_ns=0))


KEY = CheckKey("arch.hie", "app", 0, "files.exists(src, 'a.py')")
KEY2 = CheckKey("arch.hie", "app", 1, "files.exists(src, 'b.py')")


def test_verdicts_recorded_after_the_snapshot_are_still_found(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    parts2 = parts.replace(text=KEY2.text)
    a, b = _session(ws), _session(ws)
    a.begin_run()
    assert a.lookup(KEY, parts, Purity.READS_WORKSPACE) is None  # takes the (empty) snapshot
    b.begin_run()
    b.record(KEY2, parts2, Purity.READS_WORKSPACE, "pass", None, CallContext(str(ws.root)), 1.0)
    b.end_run({})
    # Another process's verdict, newer than a's snapshot; and a's own verdict, recorded within the run.
    assert a.lookup(KEY2, parts2, Purity.READS_WORKSPACE) is not None
    a.record(KEY, parts, Purity.READS_WORKSPACE, "fail", "no", CallContext(str(ws.root)), 1.0)
    replay = a.lookup(KEY, parts, Purity.READS_WORKSPACE)
    assert replay is not None and (replay.status, replay.message) == ("fail", "no")
    a.end_run({})
    a.close()
    b.close()


def test_snapshot_replay_still_names_what_changed(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    s = _session(ws)
    s.begin_run()
    s.record(KEY, parts, Purity.READS_WORKSPACE, "pass", None, CallContext(str(ws.root)), 1.0)
    s.end_run({})
    ws.write("src/b.py", "changed\n")
    s.begin_run()
    assert s.lookup(KEY, ws.parts(ws.scope("src"), "a.py"), Purity.READS_WORKSPACE) is None
    assert s.reason(KEY) == "reran: scope[0] changed (src/b.py modified)"
    s.close()


def _reason_rows(ws: Any) -> dict[str, tuple[int, str, str]]:
    conn = sqlite3.connect(os.path.join(ws.cache, "results.sqlite"))
    rows = {k: (run_id, reason, inputs) for k, run_id, reason, inputs in
            conn.execute("SELECT key, run_id, reason, inputs FROM last_reasons")}
    conn.close()
    return rows


def test_unchanged_reasons_are_not_rewritten_changed_ones_are(ws: Any) -> None:
    def run(parts: Any) -> None:
        s = _session(ws)
        s.begin_run()
        for key in (KEY, KEY2):
            if s.lookup(key, parts, Purity.READS_WORKSPACE) is None:
                s.record(key, parts, Purity.READS_WORKSPACE, "pass", None, CallContext(str(ws.root)), 1.0)
        s.end_run({})
        s.close()

    parts = ws.parts(ws.scope("src"), "a.py")
    run(parts)
    run(parts)
    second = _reason_rows(ws)
    run(parts)
    third = _reason_rows(ws)
    key = KEY.storage_key()
    assert second[key][1] == "replayed: inputs unchanged"
    assert third == second  # the run that first recorded this reason stays the row's run
    ws.write("src/new.py", "x\n")
    run(ws.parts(ws.scope("src"), "a.py"))
    fourth = _reason_rows(ws)
    assert fourth[key][0] == third[key][0] + 2 and fourth[key][1] == "reran: scope[0] changed (src/new.py added)"
    assert json.loads(fourth[key][2]) != json.loads(third[key][2])
    run(ws.parts(ws.scope("src"), "a.py"))
    fifth = _reason_rows(ws)
    assert fifth[key][0] == fourth[key][0] + 1 and fifth[key][1] == "replayed: inputs unchanged"


def test_parallel_runner_reports_replayed_and_run_checks_in_plan_order(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    for i in range(12):
        (ws / f"d{i}").mkdir(parents=True)
        (ws / f"d{i}" / "f.txt").write_text(f"{i}\n")
    library = FilesLibrary()

    def plan() -> Plan:
        checks = []
        for i in range(12):
            scope = library.call("folder_selector", [f"d{i}"], CallContext(str(ws)))
            checks.append(PlannedCheck(f"e{i}", 0, f"files.max_size(s{i}, 100)", "a.hie", _span(i), library,
                                       "max_size", [scope, 100]))
        return Plan(checks)

    store = ResultStore(str(tmp_path / "cache"))
    session = IncrementalSession(store, digester=FileDigester(store, racy_window_ns=0))
    Runner(str(ws), session).run(plan(), RunOptions(jobs=4))
    for i in (3, 7, 8):
        (ws / f"d{i}" / "f.txt").write_text("x" * 500)
    seen: list[tuple[str, int, bool]] = []

    def progress(outcome: CheckOutcome, done: int, total: int) -> None:
        assert total == 12
        seen.append((outcome.element, done, outcome.cached))

    report = Runner(str(ws), session).run(plan(), RunOptions(jobs=4), progress)
    session.close()
    assert [(e, d) for e, d, _ in seen] == [(f"e{i}", i + 1) for i in range(12)]
    assert [o.element for o in report.outcomes] == [f"e{i}" for i in range(12)]
    assert {e for e, _, cached in seen if not cached} == {"e3", "e7", "e8"}
    assert {o.element for o in report.outcomes if o.status.value == "fail"} == {"e3", "e7", "e8"}


def _span(line: int) -> Any:
    from hie_tasks.diagnostics import Span

    return Span.point("a.hie", line + 1, 5)


def test_replayed_reason_row_carries_the_full_inputs_and_matches_the_session(ws: Any) -> None:
    parts = ws.parts(ws.scope("src"), "a.py")
    ctx = CallContext(str(ws.root))
    ctx.record_dep(ws.path("cfg.toml"))
    s = _session(ws)
    s.begin_run()
    assert s.lookup(KEY, parts, Purity.READS_WORKSPACE) is None
    s.record(KEY, parts, Purity.READS_WORKSPACE, "pass", None, ctx, 1.0)
    s.end_run({})
    s.begin_run()
    assert s.lookup(KEY, parts, Purity.READS_WORKSPACE) is not None
    in_session = s.inputs(KEY)
    s.end_run({})
    s.close()
    _run_id, reason, inputs = _reason_rows(ws)[KEY.storage_key()]
    assert reason == "replayed: inputs unchanged"
    assert json.loads(inputs) == in_session
    # deps are workspace-relative (relocatable fingerprints)
    assert {"version", "args", "scope[0]", "dep cfg.toml"} <= in_session.keys()


def test_storage_key_is_the_canonical_json_of_its_fields() -> None:
    for key in (KEY, CheckKey('we"ird\\file.hie', "ünï\u2028.x", 7, "files.exists(s, '\n\t')")):
        assert key.storage_key() == canonical_json([key.spec_file, key.element, key.index, key.text])


def test_scope_items_are_spelled_as_canonical_json() -> None:
    from hie_tasks.incremental.fingerprint import _scope_item, _scope_item_json

    for scope in (Scope(ScopeKind.glob('we"ird\\*.py'), ("x",), False), Scope(ScopeKind.folder("ünï\u2028"), (), True),
                  Scope(ScopeKind.file("a.py"), ("a",), True)):
        for index in (0, 3):
            assert _scope_item_json(scope, index) == canonical_json(_scope_item(scope, index))
