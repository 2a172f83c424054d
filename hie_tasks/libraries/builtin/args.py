"""Positional argument validation with the exact per-position error codes the specs assign.

Each position wants exactly one value kind. A missing argument and a value of any other kind (including
String-for-Scope and Int-for-String) raise the same `LibraryError`; callers validate left to right so the
first bad position reports, and extra arguments are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import Scope, Value, is_number

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1


def _at(args: Sequence[Value], index: int) -> Value:
    return args[index] if index < len(args) else None


def string_arg(args: Sequence[Value], index: int, code: str, message: str) -> str:
    value = _at(args, index)
    if isinstance(value, str):
        return value
    raise LibraryError(code, message)


def scope_arg(args: Sequence[Value], index: int, code: str, message: str) -> Scope:
    value = _at(args, index)
    if isinstance(value, Scope):
        return value
    raise LibraryError(code, message)


def integer_arg(args: Sequence[Value], index: int, code: str, message: str) -> int:
    """An Int, or a Float truncated toward zero the way Rust's `as i64` does (NaN → 0, saturating)."""
    value = _at(args, index)
    if not is_number(value):
        raise LibraryError(code, message)
    if isinstance(value, float):
        if math.isnan(value):
            return 0
        if math.isinf(value):
            return _I64_MAX if value > 0 else _I64_MIN
        return max(_I64_MIN, min(_I64_MAX, math.trunc(value)))
    assert isinstance(value, int)
    return value
