"""Differential tests against the upstream binary (`../shared/oracle/hielements`); skipped where it is absent.

Seeds 0–79 here; `nox -s conformance` runs 1,000 others (from 100000). Every difference must fall in a
documented exception class, or in `KNOWN_OPEN`, the classes still open (each named in the closing note), so a
new kind of difference fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.cases import from_paths, generated
from tests.conformance.compare import compare_all, oracle_path, table

ORACLE = oracle_path()
pytestmark = pytest.mark.skipif(ORACLE is None, reason="no upstream oracle at ../shared/oracle/hielements")
REPO = Path(__file__).resolve().parents[2]

#: Differences not yet fixed (see /work/notes/issue-11.md): the `files` library prints absolute, sorted paths
#: where upstream prints its workspace string joined with the selector's path, in directory-listing order.
KNOWN_OPEN = ("files:path-rendering", "files:listing-order")


def _unexplained(outcomes: list) -> list:  # type: ignore[type-arg]
    return [
        o for o in outcomes
        if any(not (c.startswith("exception:") or c.split(" ")[0] in KNOWN_OPEN) for c in o.classes)
    ]


def test_generated_programs_agree_with_upstream(tmp_path: Path) -> None:
    assert ORACLE is not None
    outcomes = compare_all(generated(range(80), tmp_path), oracle=ORACLE)
    bad = _unexplained(outcomes)
    assert not bad, table(outcomes) + "\n\n" + "\n".join(f"{o.case.name}: {o.diffs}" for o in bad[:5])
    # the generator is worth running only if upstream accepts a fair share and rejects some
    accepted = sum(o.oracle_accepts for o in outcomes)
    assert 10 <= accepted <= 75


def _fixture_specs(root: Path) -> list[Path]:
    """The specs the project's own tests use, written out over the CLI tests' workspace."""
    from tests.lang.test_fuzz import SEED
    from tests.lang.test_parser_forms import BRACES, COLON, HEADER

    ws = root / "ws"
    (ws / "src" / "orders").mkdir(parents=True)
    (ws / "src" / "orders" / "api.py").write_text("import typing\n\ndef get() -> int:\n    return 1\n")
    (ws / "src" / "orders" / "db.py").write_text("import sqlite3\n")
    (ws / "README.md").write_text("# demo\n")
    specs = {"colon.hie": HEADER + COLON, "braces.hie": HEADER + BRACES, "fuzz_seed.hie": SEED}
    cli_spec = (REPO / "tests" / "cli" / "conftest.py").read_text()
    start = cli_spec.index('"import files\\n"')
    body = cli_spec[start : cli_spec.index("\n    )", start)]
    specs["cli.hie"] = eval("(" + body + ")")  # the adjacent string literals of the fixture
    for name, text in specs.items():
        (ws / name).write_text(text)
    return [ws / name for name in specs]


def test_project_fixtures_agree_with_upstream(tmp_path: Path) -> None:
    assert ORACLE is not None
    outcomes = compare_all(from_paths(_fixture_specs(tmp_path)), oracle=ORACLE)
    bad = _unexplained(outcomes)
    assert not bad, table(outcomes) + "\n\n" + "\n".join(f"{o.case.name}: {o.diffs}" for o in bad[:5])
