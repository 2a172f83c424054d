"""`model.jsontext` writes and reads JSON exactly as the `json` package does (it uses the package's own C
accelerator), without importing the package on the paths that only write."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hie_tasks.model import jsontext

_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
            | st.sampled_from([float("nan"), float("inf"), -0.0, 1e400, "\u2028", "\ud800", "é\n\t\"\\"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20)
_OPTIONS = [{}, {"sort_keys": True}, {"ensure_ascii": False}, {"sort_keys": True, "ensure_ascii": False},
            {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False}]


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(_VALUES)
def test_every_encoder_writes_what_json_writes(value: Any) -> None:
    for options in _OPTIONS:
        assert jsontext.encoder(**options)(value) == json.JSONEncoder(**options).encode(value)
    assert jsontext.dumps(value) == json.dumps(value)
    assert jsontext.dumps(value, sort_keys=True) == json.dumps(value, sort_keys=True)
    assert jsontext.dumps(value, ensure_ascii=False) == json.dumps(value, ensure_ascii=False)
    assert jsontext.quote("a\"é\n") == json.dumps("a\"é\n", ensure_ascii=False)


@given(_VALUES)
def test_what_json_wrote_is_read_back_as_json_reads_it(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, indent=2), f" \n{json.dumps(value)}\t "):
        assert _same(jsontext.loads(text), json.loads(text))


@pytest.mark.parametrize("text", ["", " ", "[1,]", '{"a":1} x', "\ufeff{}", "{'a': 1}", "[1 2]", '"\\x"', "nul"])
def test_a_text_json_refuses_is_refused_with_json_s_own_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as ours:
        jsontext.loads(text)
    assert (ours.value.msg, ours.value.pos) == (theirs.value.msg, theirs.value.pos)


def test_what_json_cannot_write_is_refused_alike() -> None:
    for value in ([object()], {1j: 1}):
        with pytest.raises(TypeError) as theirs:
            json.dumps(value)
        with pytest.raises(TypeError) as ours:
            jsontext.dumps(value)
        assert str(ours.value) == str(theirs.value)
    # A document that failed half-way leaves nothing behind for the next one.
    shared = [1]
    with pytest.raises(TypeError):
        jsontext.dumps([shared, object()])
    assert jsontext.dumps([shared, shared]) == "[[1], [1]]"
