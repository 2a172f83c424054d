"""Positional argument validation with the exact per-position error codes the specs assign.

Each position wants exactly one value kind. A missing argument and a value of any other kind (including
String-for-Scope and Int-for-String) raise the same `LibraryError`; callers validate left to right so the
first bad position reports, and extra arguments are ignored.
"""

from __future__ import annotations

from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import Scope, Value, is_number

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Sequence

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
        # Spelled without `math`, whose import (a shared library) a rerun of two checks would pay for this.
        if value != value:  # NaN
            return 0
        if value - value != 0.0:  # ±inf (inf - inf is NaN)
            return _I64_MAX if value > 0 else _I64_MIN
        return max(_I64_MIN, min(_I64_MAX, int(value)))  # int() truncates toward zero
    assert isinstance(value, int)
    return value
