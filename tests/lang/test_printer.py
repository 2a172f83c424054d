from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hie_tasks.lang.ast import CheckDecl
from hie_tasks.lang.parser import parse
from hie_tasks.lang.printer import expr_text, number_text, program_to_json


def check_expr_of(source_expr: str) -> CheckDecl:
    program, diags = parse(f"element a:\n    check {source_expr}\n", "t.hie")
    assert diags == []
    return program.elements[0].checks[0]


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        ("files.exists(src, 'api.py')", "files.exists(src, 'api.py')"),
        ('files.exists(src,"api.py")', "files.exists(src, 'api.py')"),
        ("files.max_size(h, 10000)", "files.max_size(h, 10000)"),
        ("files.max_size(h, 10.0)", "files.max_size(h, 10)"),
        ("f.g(2.5, 0.10, true, false)", "f.g(2.5, 0.1, true, false)"),
        ("f.g([a, 'b', [1,],], x.y.z)", "f.g([a, 'b', [1]], x.y.z)"),
        ("f.g(f.sel('x'))", "f.g(f.sel('x'))"),
        ("f.g()", "f.g()"),
        (r"f.g('it\'s')", "f.g('it's')"),
        ("python.module.scope", "python.module.scope"),
    ],
)
def test_expr_text_matches_upstream_check_text(written: str, printed: str) -> None:
    assert expr_text(check_expr_of(written).expr) == printed


def test_number_text_like_rust_f64_display() -> None:
    assert [number_text(v) for v in (10, 2.5, 0.0001, 1e-7, 1e22, 123.456)] == [
        "10",
        "2.5",
        "0.0001",
        "0.0000001",
        "10000000000000000000000",
        "123.456",
    ]


def test_program_to_json_tags_every_node_and_keeps_spans() -> None:
    program, _ = parse("import files\n## d\nelement a {\n    check files.exists(s, 'x')\n}\n", "t.hie")
    data = json.loads(json.dumps(program_to_json(program)))
    assert data["type"] == "Program" and data["imports"][0]["type"] == "Import"
    element = data["declarations"][0]
    assert (element["type"], element["name"], element["doc"], element["braces"]) == (
        "Element",
        "a",
        "d",
        True,
    )
    check = element["items"][0]
    assert check["type"] == "CheckDecl" and check["expr"]["type"] == "Call"
    assert check["expr"]["callee"] == {
        "type": "MemberAccess",
        "target": {
            "type": "Identifier",
            "name": "files",
            "span": {"file": "t.hie", "start": {"line": 4, "column": 11}, "end": {"line": 4, "column": 16}},
        },
        "member": "exists",
        "span": {"file": "t.hie", "start": {"line": 4, "column": 11}, "end": {"line": 4, "column": 23}},
    }
    assert element["span"]["start"] == {"line": 3, "column": 1} and element["span"]["end"] == {
        "line": 5,
        "column": 2,
    }


_names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s not in {"import", "from", "as", "true", "false"}
)
_atoms = st.one_of(
    _names,
    st.integers(0, 10**6).map(str),
    st.from_regex(r"[0-9]{1,4}\.[0-9]*[1-9]", fullmatch=True).map(lambda s: number_text(float(s))),
    st.from_regex(r"[a-zA-Z0-9 ./*_-]{0,8}", fullmatch=True).map(lambda s: f"'{s}'"),
    st.sampled_from(["true", "false"]),
)
_exprs = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.tuples(_names, _names, st.lists(inner, max_size=3)).map(
            lambda t: f"{t[0]}.{t[1]}(" + ", ".join(t[2]) + ")"
        ),
        st.tuples(inner, _names).map(lambda t: f"{t[0]}.{t[1]}"),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_exprs)
def test_printing_a_parsed_canonical_expression_gives_it_back(text: str) -> None:
    assert expr_text(check_expr_of(text).expr) == text


def test_thousand_deep_member_chain_prints_without_recursion_error() -> None:
    from hie_tasks.lang.printer import program_json_text

    chain = "files" + ".a" * 1000 + "(r)"
    program, diags = parse(f"element e:\n    scope r = files.file_selector('x')\n    check {chain}\n", "deep.hie")
    assert not [d for d in diags if d.is_error]
    check = program.elements[0].items[-1]
    assert isinstance(check, CheckDecl) and expr_text(check.expr) == chain
    text = program_json_text(program)  # json.loads of it would hit the decoder's own recursion limit
    assert text.startswith('{\n  "type": "Program"') and text.count('"member": "a"') == 1000
