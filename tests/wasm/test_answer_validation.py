"""Hostile WASM answers: deep nesting, NaN/Infinity, several outcomes, huge messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hie_tasks.libraries.base import CallContext
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import Status

if TYPE_CHECKING:
    from conftest import MakeLib


def big_answer(json_text: str) -> str:
    """Like W.answer, for answers too large for its layout: the answer at 1 MiB, requests below it."""
    data = json_text.encode()
    escaped = "".join(f"\\{b:02x}" for b in data)
    ret = f"(i64.or (i64.shl (i64.const 1048576) (i64.const 32)) (i64.const {len(data)}))"
    return f"""(module (memory (export "memory") 32)
  (global $bump (mut i32) (i32.const 4096))
  (func (export "alloc") (param $n i32) (result i32)
    (local $p i32) (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (data (i32.const 1048576) "{escaped}")
  (func (export "library_call") (param i32 i32) (result i64) {ret})
  (func (export "library_check") (param i32 i32) (result i64) {ret}))"""


def _error(make_lib: MakeLib, answer: str, ctx: CallContext, selector: bool = False) -> LibraryError:
    lib = make_lib(big_answer(answer))
    with pytest.raises(LibraryError) as info:
        if selector:
            lib.call("f", [], ctx)
        else:
            lib.check("f", [], ctx)
    return info.value


def test_deeply_nested_answer_is_e508_like_the_external_path(make_lib: MakeLib, ctx: CallContext) -> None:
    deep = '{"List":[' * 5000 + "]}" * 5000
    for selector in (False, True):
        err = _error(make_lib, deep, ctx, selector)
        assert err.code == "E508" and "nested too deeply" in err.message
    # Nested within json's limit but beyond the value decoder's recursion: the same error.
    medium = '{"List":[' * 900 + "]}" * 900
    assert _error(make_lib, medium, ctx, True).code == "E508"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(make_lib: MakeLib, ctx: CallContext, constant: str) -> None:
    err = _error(make_lib, f'{{"Float": {constant}}}', ctx, selector=True)
    assert err.code == "E615" and constant.lstrip("-") in err.message


def test_more_than_one_outcome_fails_closed(make_lib: MakeLib, ctx: CallContext) -> None:
    err = _error(make_lib, '{"Pass":null,"Fail":"x"}', ctx)
    assert err.code == "E509" and "more than one outcome (Pass, Fail)" in err.message


def test_huge_fail_message_is_capped_with_a_note(make_lib: MakeLib, ctx: CallContext) -> None:
    result = make_lib(big_answer('{"Fail":"' + "x" * 300_000 + '"}'), max_message_kb=64).check("f", [], ctx)
    assert result.status is Status.FAIL and result.message is not None
    assert result.message.startswith("x" * 1000) and len(result.message) < 64 * 1024 + 200
    assert "message cut: 300000 bytes" in result.message
