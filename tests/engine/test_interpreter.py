"""Upstream evaluation semantics (language.md §4) through the real interpreter and runner."""

from __future__ import annotations

from pathlib import Path

from hie_tasks.model.values import Scope, Status
from tests.engine.conftest import Evaluate, RecordingLibrary


def statuses(report) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    return [(o.element, o.status.value, o.message) for o in report.outcomes]


def test_order_scopes_then_checks_then_children(evaluate: Evaluate, rec: RecordingLibrary) -> None:
    evaluate(
        "element a:\n"
        "    scope s1 = rec.echo('a1')\n"
        "    check rec.ok(s1)\n"
        "    element b:\n"
        "        scope s2 = rec.echo('b1')\n"
        "        check rec.ok(s2)\n"
        "    scope s3 = rec.echo('a2')\n"
        "element c:\n"
        "    check rec.ok('c')\n"
    )
    # All of a's scopes (even the one written after the child) are evaluated before the child's. Check
    # calls run after planning (possibly in parallel), but in plan order: a's, then its child's, then c's.
    assert [c for c in rec.calls if c[0] == "call"] == [
        ("call", "echo", ["a1"]),
        ("call", "echo", ["a2"]),
        ("call", "echo", ["b1"]),
    ]
    assert [c for c in rec.calls if c[0] == "check"] == [
        ("check", "ok", ["a1"]),
        ("check", "ok", ["b1"]),
        ("check", "ok", ["c"]),
    ]


def test_nearest_enclosing_scope_wins(evaluate: Evaluate, rec: RecordingLibrary) -> None:
    evaluate(
        "element outer:\n"
        "    scope src = rec.echo('outer')\n"
        "    element other:\n"
        "        scope src = rec.echo('other')\n"
        "    element inner:\n"
        "        check rec.ok(src)\n"
    )
    # `other.src` was stored more recently, but `outer.src` encloses the check
    assert rec.calls[-1] == ("check", "ok", ["outer"])


def test_unqualified_name_falls_back_to_latest_stored(evaluate: Evaluate, rec: RecordingLibrary) -> None:
    evaluate(
        "element a:\n"
        "    scope x = rec.echo('first')\n"
        "element b:\n"
        "    scope x = rec.echo('second')\n"
        "element c:\n"
        "    check rec.ok(x)\n"
    )
    assert rec.calls[-1] == ("check", "ok", ["second"])


def test_child_scope_not_visible_before_child_runs(evaluate: Evaluate) -> None:
    _, report = evaluate(
        "element a:\n"
        "    check rec.ok(later)\n"
        "    element b:\n"
        "        scope later = rec.echo('x')\n"
        "        check rec.ok(later)\n"
    )
    assert statuses(report) == [("a", "error", "Undefined identifier: later"), ("a.b", "pass", None)]


def test_dotted_reference_and_its_errors(evaluate: Evaluate, rec: RecordingLibrary) -> None:
    _, report = evaluate(
        "element a:\n"
        "    element b:\n"
        "        scope s = rec.echo('deep')\n"
        "element c:\n"
        "    check rec.ok(b.s)\n"
        "    check rec.ok(a.b.s)\n"
        "    check rec.ok(nope.s)\n"
        "    check rec.ok(files.folder_selector)\n"
    )
    # Changed with #11, after the oracle: a two-part path is never a value upstream ("Member access … cannot
    # be evaluated directly"); a path of three parts or more is looked up (exactly or by suffix).
    assert [o.status for o in report.outcomes] == [Status.ERROR, Status.PASS, Status.ERROR, Status.ERROR]
    assert report.outcomes[0].message == "Member access b.s cannot be evaluated directly"
    assert report.outcomes[2].message == "Member access nope.s cannot be evaluated directly"
    assert report.outcomes[3].message == "Member access files.folder_selector cannot be evaluated directly"


def test_call_errors(evaluate: Evaluate) -> None:
    _, report = evaluate(
        "element a:\n"
        "    check nolib.fn('x')\n"
        "    check 'just a string'\n"
        "    check somefn('x')\n"
        "    check rec.raise()\n"
        "    check rec.crash()\n"
        "    check rec.ok()\n"
    )
    msgs = [(o.status.value, o.message) for o in report.outcomes]
    # upstream's wording (#11)
    assert msgs[0] == ("error", "Unknown library: nolib")
    assert msgs[1] == ("error", "Check must be a function call")
    assert msgs[2] == ("error", "Expected library.function")
    # a library error's verdict carries the message only, not the code
    assert msgs[3] == ("error", "library said no")
    # an unexpected exception inside a library is an Error verdict; the run goes on
    assert msgs[4][0] == "error" and "RuntimeError" in (msgs[4][1] or "")
    assert msgs[5] == ("pass", None)
    assert (report.totals.total, report.totals.passed, report.totals.errors) == (6, 1, 5)


def test_failing_scope_is_a_diagnostic_and_stays_unset(evaluate: Evaluate) -> None:
    plan, report = evaluate(
        "element a:\n"
        "    scope broken = rec.boom()\n"
        "    check rec.ok(broken)\n"
    )
    assert [d.code for d in plan.diagnostics] == ["E999"]
    assert plan.diagnostics[0].line == 2
    assert "a.broken" not in plan.scopes
    assert statuses(report) == [("a", "error", "Undefined identifier: broken")]


def test_values_of_every_literal_kind(evaluate: Evaluate, rec: RecordingLibrary) -> None:
    evaluate("element a:\n    check rec.ok('s', 10, 10.0, 2.5, true, false, ['x', [1]])\n")
    assert rec.calls == [("check", "ok", ["s", 10, 10, 2.5, True, False, ["x", [1]]])]
    assert isinstance(rec.calls[0][2][2], int)


def test_filter_skips_checks_but_evaluates_scopes(evaluate: Evaluate, rec: RecordingLibrary) -> None:
    _, report = evaluate(
        "element api:\n    scope s = rec.echo('api')\n    check rec.ok(s)\n"
        "element db:\n    scope s = rec.echo('db')\n    check rec.ok(s)\n    check rec.ok(s)\n",
        element_filter="api",
    )
    assert ("call", "echo", ["db"]) in rec.calls
    assert [c for c in rec.calls if c[0] == "check"] == [("check", "ok", ["api"])]
    t = report.totals
    assert (t.total, t.passed, t.skipped) == (1, 1, 2)


def test_limit_counts_the_rest_as_skipped(evaluate: Evaluate) -> None:
    _, report = evaluate("element a:\n" + "    check rec.ok()\n" * 5, limit=2)
    assert (report.totals.total, report.totals.skipped) == (2, 3)


def test_parallel_run_matches_sequential(evaluate: Evaluate, rec: RecordingLibrary) -> None:
    source = "element a:\n" + "".join(f"    check rec.slow_parity({i})\n" for i in range(40))
    _, seq = evaluate(source, jobs=1)
    rec.threads.clear()
    _, par = evaluate(source, jobs=4)
    assert statuses(seq) == statuses(par)
    assert [o.check for o in seq.outcomes] == [o.check for o in par.outcomes]
    assert len(rec.threads) > 1


def test_files_library_through_the_engine(evaluate: Evaluate, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    plan, report = evaluate(
        "element app:\n"
        "    scope src = files.folder_selector('src')\n"
        "    check files.exists(src, 'a.py')\n"
        "    check files.exists(src, 'b.py')\n"
    )
    scope = plan.scopes.get("app.src")
    assert isinstance(scope, Scope) and scope.paths == (str(tmp_path / "src" / "a.py"),)
    assert statuses(report) == [
        ("app", "pass", None),
        ("app", "fail", "File 'b.py' does not exist in folder 'src'"),
    ]


def test_builtin_selector_answered_once_per_plan(evaluate: Evaluate, tmp_path: Path) -> None:
    from hie_tasks.libraries.builtin.files import FilesLibrary

    calls: list[list[object]] = []
    original = FilesLibrary.call

    def counting(self: FilesLibrary, function: str, args: list, ctx):  # type: ignore[no-untyped-def, type-arg]
        calls.append([function, *args])
        return original(self, function, args, ctx)

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x")
    FilesLibrary.call = counting  # type: ignore[method-assign]
    try:
        plan, report = evaluate(
            "element a:\n    scope s = files.folder_selector('src')\n    check files.exists(s, 'a.py')\n"
            "element b:\n    scope s = files.folder_selector('src')\n"
            "    check files.exists(files.folder_selector('src'), 'a.py')\n"
        )
    finally:
        FilesLibrary.call = original  # type: ignore[method-assign]
    assert calls == [["folder_selector", "src"]]
    assert [o.status for o in report.outcomes] == [Status.PASS, Status.PASS]
    # what the selector read is still known for every scope that used it (watch and explain rely on it)
    assert plan.scope_inputs["a.s"].trees and plan.scope_inputs["b.s"].trees == plan.scope_inputs["a.s"].trees


def test_impure_plugin_selector_called_every_time(evaluate: Evaluate, rec: RecordingLibrary) -> None:
    evaluate("element a:\n    scope x = rec.echo('v')\n    scope y = rec.echo('v')\n    check rec.ok(x, y)\n")
    assert [c for c in rec.calls if c[0] == "call"] == [("call", "echo", ["v"]), ("call", "echo", ["v"])]
