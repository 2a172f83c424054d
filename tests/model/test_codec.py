"""The JSON codec of values and check results (stdlib.md §2): round trips and every tolerant-decoding rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hie_tasks.model.codec import (
    decode_check_result,
    decode_value,
    dumps_canonical,
    encode_check_result,
    encode_value,
)
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, ConnectionPoint, Scope, ScopeKind, ScopeKindTag, Status, Value

# Non-integral, finite floats: a *bare* JSON number that is integral decodes as Int (upstream's rule), so only
# those stay Float through every path. Tagged `{"Float": 2.0}` keeps its kind; see the test below.
_floats = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())
_text = st.text(max_size=20)
_json_data = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_scopes = st.builds(
    Scope,
    st.builds(ScopeKind, st.sampled_from(list(ScopeKindTag)), _text),
    st.lists(_text, max_size=4).map(tuple),
    st.booleans(),
)
_points = st.builds(ConnectionPoint, _text, _text, st.dictionaries(_text, _json_data, max_size=3))
_values: st.SearchStrategy[Value] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _floats | _text | _scopes | _points,
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    """Equality that also compares kinds: 1 == 1.0 == True in Python, but not as hielements values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_values_round_trip_through_json_text(value: Value) -> None:
    wire = json.dumps(encode_value(value))
    assert _same(decode_value(json.loads(wire)), value)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(list(Status)), _text)
def test_check_results_round_trip(status: Status, message: str) -> None:
    result = CheckResult(status, None if status is Status.PASS else message)
    assert decode_check_result(json.loads(json.dumps(encode_check_result(result)))) == result


def test_encoding_uses_the_upstream_tagged_shapes() -> None:
    scope = Scope(ScopeKind.folder("src"), ("/ws/src/a.py",), True)
    assert encode_value(None) is None
    assert encode_value(True) is True
    assert encode_value(42) == {"Int": 42}
    assert encode_value(2.5) == {"Float": 2.5}
    assert encode_value("src") == {"String": "src"}
    assert encode_value([1, "a"]) == {"List": [{"Int": 1}, {"String": "a"}]}
    assert dumps_canonical(encode_value(scope)) == (
        '{"Scope":{"kind":{"Folder":"src"},"paths":["/ws/src/a.py"],"resolved":true}}'
    )
    assert encode_value(ConnectionPoint("api", "rest", {"port": 8080})) == {
        "ConnectionPoint": {"name": "api", "kind": "rest", "data": {"port": 8080}}
    }
    assert encode_check_result(CheckResult.passed()) == {"Pass": None}
    assert encode_check_result(CheckResult.failed("no")) == {"Fail": "no"}
    assert encode_check_result(CheckResult.errored("bad")) == {"Error": "bad"}


def test_tagged_integral_float_stays_float_but_bare_one_becomes_int() -> None:
    assert _same(decode_value({"Float": 2.0}), 2.0)
    assert _same(decode_value({"Float": 3}), 3.0)
    assert _same(decode_value(json.loads("2.0")), 2)
    assert _same(decode_value(2.5), 2.5)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, None),
        (True, True),
        (False, False),
        (7, 7),
        (-1.5, -1.5),
        ("text", "text"),
        ([1, "a", None, [True]], [1, "a", None, [True]]),  # improve: a bare array is a List
        ({"Int": 2.9}, 2),  # a number under Int truncates
        ({"Bool": True}, True),
        ({"List": [{"Int": 1}, "x"]}, [1, "x"]),
    ],
)
def test_bare_and_tagged_forms_decode(data: Any, expected: Value) -> None:
    assert _same(decode_value(data), expected)


def test_tags_are_tried_in_upstream_order() -> None:
    assert decode_value({"Int": 1, "String": "s"}) == "s"
    assert _same(decode_value({"Float": 1.5, "Int": 4}), 4)
    assert _same(decode_value({"Bool": True, "Float": 0.5}), 0.5)
    assert decode_value({"Scope": {}, "List": []}) == []
    assert _same(decode_value({"ConnectionPoint": {}, "Scope": {}}), Scope(ScopeKind.file(""), (), False))


def test_scope_decoding_is_tolerant() -> None:
    assert decode_value({"Scope": {}}) == Scope(ScopeKind.file(""), (), False)
    assert decode_value({"Scope": {"kind": {"Weird": "x"}, "paths": ["a", 3, None, "b"]}}) == Scope(
        ScopeKind.file(""), ("a", "b"), False
    )
    assert decode_value({"Scope": {"kind": {"Glob": "**/*.py"}, "paths": "not a list", "resolved": "yes"}}) == Scope(
        ScopeKind.glob("**/*.py"), (), False
    )


def test_connection_point_decodes() -> None:
    assert decode_value({"ConnectionPoint": {"name": "n", "kind": "k", "data": {"a": 1}}}) == ConnectionPoint(
        "n", "k", {"a": 1}
    )
    assert decode_value({"ConnectionPoint": {"name": "n", "data": []}}) == ConnectionPoint("n", "", {})


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"String": 3}, "'String' needs a string"),
        ({"Int": "3"}, "'Int' needs a finite number"),
        ({"Int": True}, "'Int' needs a finite number"),
        ({"Int": float("inf")}, "'Int' needs a finite number"),  # json.loads("1e400") is inf
        ({"Float": None}, "'Float' needs a number"),
        ({"Bool": 1}, "'Bool' needs true or false"),
        ({"List": {}}, "'List' needs an array"),
        ({"Scope": []}, "'Scope' needs an object"),
        ({"ConnectionPoint": "cp"}, "'ConnectionPoint' needs an object"),
        ({"Unknown": 1}, 'Cannot convert JSON to Value: {"Unknown": 1}'),
        ({}, "Cannot convert JSON to Value: {}"),
        ([{"Bad": 0}], 'Cannot convert JSON to Value: {"Bad": 0}'),
    ],
)
def test_undecodable_values_are_e508(data: Any, fragment: str) -> None:
    with pytest.raises(LibraryError) as err:
        decode_value(data)
    assert err.value.code == "E508"
    assert err.value.message.startswith("Cannot convert JSON to Value: ")
    assert fragment in err.value.message


def test_e508_quotes_at_most_a_snippet() -> None:
    with pytest.raises(LibraryError) as err:
        decode_value({"Huge": "x" * 10_000})
    assert len(err.value.message) < 300 and err.value.message.endswith("…")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"Pass": None}, CheckResult.passed()),
        ({"result": "pass"}, CheckResult.passed()),
        ({"Fail": "msg"}, CheckResult.failed("msg")),
        ({"Fail": 42}, CheckResult.failed("")),
        ({"Error": "boom"}, CheckResult.errored("boom")),
        ({"Error": None}, CheckResult.errored("")),
        ({"result": "fail", "message": "m"}, CheckResult.failed("m")),
        ({"result": "fail"}, CheckResult.failed("Check failed")),
        ({"result": "error", "message": "e"}, CheckResult.errored("e")),
        ({"result": "error"}, CheckResult.errored("Check error")),
        ("pass", CheckResult.passed()),
        ("OK", CheckResult.passed()),
        ("True", CheckResult.passed()),
        ("FAIL", CheckResult.failed("Check failed")),
        ("false", CheckResult.failed("Check failed")),
        ("something went wrong", CheckResult.failed("something went wrong")),
    ],
)
def test_check_results_decode_tolerantly(data: Any, expected: CheckResult) -> None:
    assert decode_check_result(data) == expected


@pytest.mark.parametrize("data", [None, True, 3, 1.5, [], ["pass"], {}, {"result": 1}, {"result": "maybe"}])
def test_undecodable_check_results_are_e509(data: Any) -> None:
    with pytest.raises(LibraryError) as err:
        decode_check_result(data)
    assert err.value.code == "E509"
    assert err.value.message == f"Cannot convert JSON to CheckResult: {json.dumps(data)}"


def test_canonical_dump_is_deterministic() -> None:
    assert dumps_canonical({"b": 1, "a": [1, {"d": "é", "c": None}]}) == '{"a":[1,{"c":null,"d":"é"}],"b":1}'


@pytest.mark.parametrize("data", [{"Pass": None, "Fail": "x"}, {"Fail": "x", "Error": "y"}, {"Pass": 1, "Error": "e"}])
def test_more_than_one_outcome_fails_closed(data: dict[str, object]) -> None:
    with pytest.raises(LibraryError) as info:
        decode_check_result(data)
    assert info.value.code == "E509" and "more than one outcome" in info.value.message
