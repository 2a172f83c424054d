"""The partial rerun's modules import without `dataclasses` and `typing`, and the record classes that replaced
the dataclasses keep the equality, hashing, repr and copying that callers rely on."""

from __future__ import annotations

import ast
import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hie_tasks.diagnostics import Diagnostic, DiagnosticBag, Severity, Span
from hie_tasks.engine.results import CheckOutcome, RunReport, Totals
from hie_tasks.incremental.fingerprint import FingerprintParts
from hie_tasks.incremental.session import CheckKey
from hie_tasks.incremental.store import StatEntry
from hie_tasks.libraries.base import CallContext, TreeDep
from hie_tasks.model.values import CheckResult, ConnectionPoint, Location, Scope, ScopeKind, Status

ROOT = Path(__file__).resolve().parents[2]

#: What the partial rerun (hie_tasks/replay/partial.py) and a run's engine import.
LEAN = [
    "hie_tasks.replay.partial", "hie_tasks.engine.runner", "hie_tasks.engine.planned",
    "hie_tasks.incremental.session", "hie_tasks.incremental.store", "hie_tasks.libraries.builtin.files",
    "hie_tasks.output.json_report", "hie_tasks.diagnostics", "hie_tasks.model.codec",
]
#: Each costs milliseconds to import (`dataclasses` brings `inspect`, `ast`, `dis` and `tokenize`).
HEAVY = ["dataclasses", "typing", "inspect", "ast", "dis", "tokenize"]


#: Standard-library modules the partial rerun no longer loads either: `json` (its decoder brings `re`, and
#: `re` brings `enum`), `sqlite3` (its package brings `datetime`), `bisect`, `math`, `collections.abc`.
STDLIB = ["json", "re", "enum", "sqlite3", "datetime", "bisect", "math", "collections.abc"]


def _loaded_by_the_rerun(watched: list[str]) -> list[str]:
    """Which of `watched` importing the rerun's modules loads into a fresh interpreter (not counting what the
    interpreter loaded before: an editable install's import hook brings `re`, say)."""
    script = (f"import sys\nbefore = set(sys.modules)\n"
              f"import {', '.join(LEAN)}, hie_tasks.model.jsontext, hie_tasks.model.choice\n"
              f"print(repr([m for m in {watched!r} if m in sys.modules and m not in before]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
                         cwd=ROOT)
    found: list[str] = ast.literal_eval(out.stdout.strip())
    return found


def test_the_partial_rerun_s_modules_load_neither_dataclasses_nor_typing() -> None:
    assert _loaded_by_the_rerun(HEAVY) == []


def test_the_partial_rerun_s_modules_load_neither_json_nor_re_nor_enum() -> None:
    assert _loaded_by_the_rerun(STDLIB) == []


def test_a_check_result_s_equality_ignores_its_locations_and_stability() -> None:
    plain = CheckResult(Status.FAIL, "imports os")
    located = CheckResult(Status.FAIL, "imports os", (Location("a.py", 3),), stable=True)
    assert plain == located
    assert hash(plain) == hash(located)
    assert plain != CheckResult(Status.FAIL, "imports sys")
    assert CheckResult.passed() != CheckResult.errored("boom")


def test_frozen_records_hash_by_value() -> None:
    one = Scope(ScopeKind.folder("src"), ("src/a.py",))
    two = Scope(ScopeKind.folder("src"), ("src/a.py",))
    assert one == two and one is not two
    assert {one: 1}[two] == 1
    assert one != Scope(ScopeKind.folder("src"), ("src/a.py",), resolved=False)
    assert len({CheckKey("s.hie", "e", 0, "t"), CheckKey("s.hie", "e", 0, "t")}) == 1
    assert hash(CheckKey("s.hie", "e", 0, "t")) == hash(("s.hie", "e", 0, "t"))
    assert len({TreeDep("src", (".py",)), TreeDep("src", (".py",))}) == 1
    # `data` is compared but, a dict, not hashed.
    point = ConnectionPoint("api", "http", {"port": 80})
    assert hash(point) == hash(ConnectionPoint("api", "http", {"port": 81}))
    assert point != ConnectionPoint("api", "http", {"port": 81})
    assert point == ConnectionPoint("api", "http", {"port": 80})


def test_records_that_were_not_frozen_stay_unhashable() -> None:
    for record in (Totals(), CallContext("/ws"), DiagnosticBag(), RunReport(),
                   CheckOutcome("e", "c", Status.PASS, None, "s.hie", 1, 1)):
        with pytest.raises(TypeError):
            hash(record)
    assert Totals(total=1) == Totals(total=1)
    assert Totals(total=1) != Totals(total=2)


def test_only_the_same_class_compares_equal() -> None:
    assert Location("a.py", 1) != ("a.py", 1)
    assert Location("a.py", 1).__eq__(("a.py", 1)) is NotImplemented
    assert TreeDep("src") != Location("src")
    span = Span("a.hie", 1, 2, 1, 5)
    assert span == Span("a.hie", 1, 2, 1, 5)
    assert span != ("a.hie", 1, 2, 1, 5)
    assert hash(span) == hash(("a.hie", 1, 2, 1, 5))
    with pytest.raises(TypeError):
        _ = span < Span("a.hie", 1, 3, 1, 5)


def test_defaults_are_fresh_per_instance() -> None:
    one, two = CallContext("/ws"), CallContext("/ws")
    one.record_dep("a.py")
    one.record_output("hello")
    assert two.deps == set() and two.output == []
    first, second = RunReport(), RunReport()
    first.totals.total += 1
    first.outcomes.append(CheckOutcome("e", "c", Status.PASS, None, "s.hie", 1, 1))
    assert second.totals.total == 0 and second.outcomes == []


def test_repr_names_every_field_as_a_dataclass_did() -> None:
    assert repr(Location("a.py", 3)) == "Location(file='a.py', line=3)"
    assert repr(CheckResult(Status.PASS)) == ("CheckResult(status=<Status.PASS: 'pass'>, message=None, "
                                             "locations=(), stable=False)")
    assert repr(Span("a.hie", 1, 2, 1, 5)) == "Span(file='a.hie', line=1, column=2, end_line=1, end_column=5)"
    assert repr(StatEntry(1, 2, 3, 4, "d")) == "StatEntry(size=1, mtime_ns=2, ino=3, ctime_ns=4, digest='d')"


def test_replace_and_copy() -> None:
    diag = Diagnostic("E200", Severity.ERROR, "unset", Span("a.hie", 1, 1, 1, 2))
    helped = diag.replace(help="set it first")
    assert helped.help == "set it first" and helped.message == "unset" and diag.help is None
    parts = FingerprintParts("t", "s.hie", 1, "files", "files@1", "exists", ["a.py"])
    assert parts.replace(line=2) == FingerprintParts("t", "s.hie", 2, "files", "files@1", "exists", ["a.py"])
    totals = Totals(total=3, passed=3)
    assert totals.replace() == totals and totals.replace() is not totals
    outcome = CheckOutcome("e", "c", Status.FAIL, "no", "s.hie", 1, 1, output=["x"], function="exists")
    copied = copy.copy(outcome)
    assert copied == outcome and copied is not outcome
    assert copied.output is outcome.output  # shallow, as `copy.copy` is
    copied.cached = True
    assert not outcome.cached
    assert copy.copy(Span("a.hie", 1, 2, 1, 5)) == Span("a.hie", 1, 2, 1, 5)
    assert copy.deepcopy(StatEntry(1, 2, 3, 4, "d")) == StatEntry(1, 2, 3, 4, "d")


def test_a_subclass_without_slots_keeps_its_parent_s_fields() -> None:
    class Noted(CheckOutcome):
        pass

    noted = Noted("e", "c", Status.PASS, None, "s.hie", 1, 1)
    noted.note = "extra"  # type: ignore[attr-defined]
    copied = copy.copy(noted)
    assert copied == noted and copied.note == "extra"  # type: ignore[attr-defined]
    assert noted != CheckOutcome("e", "c", Status.PASS, None, "s.hie", 1, 1)
