"""The client's JSON codec against the `json` module: each reads what the other writes, and anything that is
not one well-formed JSON value is refused."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hie_tasks.daemon import wire

_text = st.text(st.characters(blacklist_categories=["Cs"]))  # JSON text cannot carry lone surrogates as UTF-8
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
                       max_leaves=30)


def _same(a: Any, b: Any) -> bool:
    """Equal, with -0.0 and 0.0 told apart (JSON keeps the sign)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(_values)
def test_json_reads_what_wire_writes_and_the_other_way_round(value: Any) -> None:
    assert _same(json.loads(wire.encode(value)), value)
    assert wire.encode(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert _same(wire.decode(json.dumps(value)), value)
    assert _same(wire.decode(json.dumps(value, indent=2)), value)
    assert _same(wire.decode(json.dumps(value, ensure_ascii=False)), value)


def test_a_request_as_the_client_sends_it() -> None:
    message = {"protocol": 1, "argv": ["run", "-f", "json"], "env": {"PATH": "/bin", "LANG": "C.UTF-8", "X": "é\u2028\x00\"\\"},
               "stdout": {"tty": False, "encoding": "utf-8", "size": [80, 24]}, "n": -12, "t": 0.25}
    assert json.loads(wire.encode(message)) == message
    assert wire.decode('{"a":"\\ud83d\\ude00 \\u00e9 \\/ \\b\\f\\n\\r\\t"}') == {"a": "\U0001F600 é / \b\f\n\r\t"}


def test_env_values_with_undecodable_bytes_survive_the_trip() -> None:
    # os.environ holds undecodable bytes as lone surrogates (surrogateescape); the frame is encoded the same way.
    value = {"HOME": "/home/x\udcff"}
    frame = wire.encode(value).encode("utf-8", "surrogateescape")
    assert wire.decode(frame.decode("utf-8", "surrogateescape")) == value


@pytest.mark.parametrize("text", [
    "", " ", "{", "}", "[1,]", "[,1]", '{"a":1,}', '{"a" 1}', '{1:2}', '{"a":1 "b":2}', "[1 2]", '"abc', '"a\\x"',
    '"\\u12"', '"\\u12g4"', '"tab\there"', "01", "-", "+1", "1.", ".5", "1e", "1e+", "--1", "1.2.3", "0x10", "NaN",
    "Infinity", "-Infinity", "tru", "nul", "True", "None", "[1] 2", '{"a":1}x', "1e+-5", "\u00e9", "[" * 100 + "]" * 100,
])
def test_anything_but_one_well_formed_value_is_refused(text: str) -> None:
    # (The last is valid JSON, nested deeper than any message of ours: refused rather than recursed into.)
    with pytest.raises(ValueError):
        wire.decode(text)


@pytest.mark.parametrize("value", [{1: 2}, float("nan"), float("inf"), object(), b"bytes", {"a": {1, 2}}])
def test_what_json_cannot_say_is_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        wire.encode(value)
