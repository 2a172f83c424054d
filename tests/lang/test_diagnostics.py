"""Every diagnostic code the front end raises, at an exact line:column, and statement-level recovery."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hie_tasks.diagnostics import Diagnostic
from hie_tasks.lang.parser import MAX_NESTING, parse
from hie_tasks.lang.validate import validate

Where = Callable[[list[Diagnostic]], list[tuple[str, int, int]]]

CASES = [
    ("E001", "import files\nelement a {\n}\nimport python\n", [("E001", 4, 1)]),
    ("E001-top", "scope x = f.g()\nelement a {}\n", [("E001", 1, 1)]),
    ("E002", "element a:\n    foo bar\n", [("E002", 2, 5)]),
    ("E002-plain-assign", "element a:\n    x = f.g()\n", [("E002", 2, 5)]),
    ("E002-pattern-binding", "pattern p:\n    a.b = f.g()\n", [("E002", 2, 5)]),
    ("E002-indent", "element a:\n    scope x = f.g()\n        check f.h(x)\n", [("E002", 3, 9)]),
    ("E003", "element a:\n    check\n", [("E003", 2, 10)]),
    ("E003-trailing-comma-call", "element a:\n    check f.g(x,)\n", [("E003", 2, 17)]),
    ("E004", "element 42:\n    check f.g()\n", [("E004", 1, 9)]),
    ("E004-member", "element a:\n    check f.(x)\n", [("E004", 2, 13)]),
    ("E005", "import 42\n", [("E005", 1, 8)]),
    ("E006", "element a:\n    check f.g(1.)\n", [("E006", 2, 15)]),
    ("E007-ref-type", "element a:\n    ref x = f.g()\n", [("E007", 2, 11)]),
    ("E007-paren", "element a:\n    check f.g(x 'y')\n", [("E007", 2, 17)]),
    ("E008", "element a:\n    check f.g() extra\n", [("E008", 2, 17)]),
    ("E003-unterminated", "element a:\n    scope s = f.g('abc\n", [("E003", 2, 24)]),
    ("E011", "pattern p:\n    requires foo\n", [("E011", 2, 14)]),
    ("E012", "element a:\n    requires scope x\n", [("E012", 2, 5)]),
    ("E013", "language py:\n    check f.g()\n", [("E013", 2, 5)]),
    ("E014", "element a:\n    scope x\n", [("E014", 2, 5)]),
    ("E014-nested", "element a:\n    element b {\n        scope x<python>\n    }\n", [("E014", 3, 9)]),
    ("E015", "element a:\n    ref x: T\n", [("E015", 2, 5)]),
    ("E015-cp", "element a {\n  connection_point x: T binds p.q\n}\n", [("E015", 2, 3)]),
    ("E016", "element a:\n    uses x\n", [("E016", 2, 5)]),
    ("E016-string", "element a:\n    'x' uses y\n", [("E016", 2, 5)]),
]


@pytest.mark.parametrize(("name", "source", "expected"), CASES, ids=[c[0] for c in CASES])
def test_error_codes_at_exact_positions(
    name: str, source: str, expected: list[tuple[str, int, int]], where: Where
) -> None:
    _, diags = parse(source, "t.hie")
    assert where([d for d in diags if d.is_error]) == expected
    assert all(d.file == "t.hie" for d in diags)


def test_unbounded_scopes_and_refs_are_fine_in_patterns_and_their_elements() -> None:
    src = "pattern p:\n    scope a\n    ref b: T\n    element e:\n        scope c\n        ref d: U\n"
    assert parse(src, "t.hie")[1] == []


def test_messages_name_what_was_expected_and_found() -> None:
    _, diags = parse("element a:\n    ref x = f.g()\n", "t.hie")
    assert diags[0].message == "expected `:` and a type after `ref x`, found `=`"
    _, diags = parse("element a:\n    check f.g() extra\n", "t.hie")
    assert "found identifier `extra`" in diags[0].message
    _, diags = parse("element a:\n    foo bar\n", "t.hie")
    assert "`scope`" in diags[0].message and "`uses`" in diags[0].message


def test_w001_unknown_library_import_but_not_string_imports(where: Where) -> None:
    program, _ = parse("import files\nimport nope.sub\nfrom other import x\nimport './x.hie'\n", "t.hie")
    diags = validate(program, {"files", "python", "rust"})
    assert where(diags) == [("W001", 2, 1), ("W001", 3, 1)]
    assert all(not d.is_error for d in diags)


def test_w002_stray_characters_warn_only(where: Where) -> None:
    program, diags = parse("element a {\n  scope s = f.g() $\n}\n", "t.hie")
    assert where(diags) == [("W002", 2, 19)] and program.elements[0].scopes[0].name == "s"


def test_w003_implements_unknown_pattern(where: Where) -> None:
    program, _ = parse("pattern known {}\nelement a implements known, missing {\n}\n", "t.hie")
    assert where(validate(program, set())) == [("W003", 2, 9)]
    assert validate(program, set(), {"known", "missing"}) == []


def test_e010_deep_brackets_become_a_diagnostic_not_a_crash(where: Where) -> None:
    depth = MAX_NESTING * 5
    program, diags = parse(
        "element a:\n    check f.g(" + "[" * depth + "]" * depth + ")\n    check f.h()\n", "t.hie"
    )
    assert [d.code for d in diags] == ["E010"]
    assert len(program.elements[0].checks) == 1  # the statement after it still parses


def test_e010_deep_elements(where: Where) -> None:
    depth = MAX_NESTING + 5
    src = "element e {\n" * depth + "}\n" * depth
    _, diags = parse(src, "t.hie")
    assert "E010" in [d.code for d in diags]


def test_three_independent_mistakes_give_three_errors() -> None:
    src = (
        "import files\n"
        "\n"
        "element orders:\n"
        "    scope src = files.folder_selector('src'\n"
        "    check files.exists(src 'api.py')\n"
        "    element inner:\n"
        "        scope x = files.glob_selector('*.py')\n"
        "        ref db = files.file_selector('db.py')\n"
        "        check files.exists(x, 'y')\n"
        "    check files.exists(src, 'b')\n"
    )
    program, diags = parse(src, "t.hie")
    assert [(d.code, d.line, d.column) for d in diags] == [("E007", 4, 44), ("E007", 5, 28), ("E007", 8, 16)]
    orders = program.elements[0]
    assert [type(i).__name__ for i in orders.items] == ["Element", "CheckDecl"]
    assert [type(i).__name__ for i in orders.children[0].items] == ["ScopeDecl", "CheckDecl"]


def test_recovery_in_brace_blocks_and_at_top_level() -> None:
    src = (
        "element a {\n"
        "    scope = files.x()\n"
        "    check files.ok()\n"
        "    element b implements { check f.g() }\n"
        "    check files.two()\n"
        "}\n"
        "garbage here\n"
        "element 7 {\n"
        "    scope s = f.g()\n"
        "}\n"
        "element c:\n"
        "    check f.g()\n"
    )
    program, diags = parse(src, "t.hie")
    assert [(d.code, d.line) for d in diags] == [("E004", 2), ("E004", 4), ("E001", 7), ("E004", 8)]
    a, c = program.elements
    assert [type(i).__name__ for i in a.items] == ["CheckDecl", "CheckDecl"]
    assert c.name == "c" and len(c.checks) == 1


def test_stray_closing_brace_does_not_loop() -> None:
    program, diags = parse("element a:\n    }\n    check f.g()\n}\n}\n", "t.hie")
    assert [(d.code, d.line) for d in diags] == [("E002", 2), ("E001", 4)]
    assert len(program.elements[0].checks) == 1
