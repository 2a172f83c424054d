"""AST → text and AST → JSON.

`expr_text` reproduces the text upstream puts in the `check` field of `run --format json` (language.md §5), so
result rows stay byte-identical to upstream's. `program_to_json` is the `parse` command's output: every node as
an object tagged with its class name under `"type"`, its fields in declaration order, and spans via
`Span.to_json()`.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from hie_tasks.diagnostics import Span
from hie_tasks.lang.ast import (
    BoolLit,
    Call,
    Expr,
    Identifier,
    ListLit,
    MemberAccess,
    NumberLit,
    Program,
    StringLit,
)


def number_text(value: int | float) -> str:
    """A number as Rust's `Display` for f64 prints it: no exponent, no trailing `.0` (`10`, `2.5`, `0.0001`)."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    # repr gives the shortest round-tripping digits, as Rust does; Decimal lays them out without an exponent.
    return format(Decimal(repr(value)), "f")


def expr_text(expr: Expr) -> str:
    if isinstance(expr, Identifier):
        return expr.name
    if isinstance(expr, StringLit):
        # Upstream prints the decoded value between single quotes without re-escaping; so do we.
        return f"'{expr.value}'"
    if isinstance(expr, NumberLit):
        return number_text(expr.value)
    if isinstance(expr, BoolLit):
        return "true" if expr.value else "false"
    if isinstance(expr, ListLit):
        return "[" + ", ".join(expr_text(i) for i in expr.items) + "]"
    if isinstance(expr, MemberAccess):
        return f"{expr_text(expr.target)}.{expr.member}"
    if isinstance(expr, Call):
        return expr_text(expr.callee) + "(" + ", ".join(expr_text(a) for a in expr.args) + ")"
    raise TypeError(f"not an expression node: {expr!r}")


def node_to_json(node: object) -> Any:
    """Any AST node (or list/tuple of nodes, or plain value) as JSON-ready data."""
    if isinstance(node, Span):
        return node.to_json()
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        out: dict[str, Any] = {"type": type(node).__name__}
        for f in dataclasses.fields(node):
            out[f.name] = node_to_json(getattr(node, f.name))
        return out
    if isinstance(node, (list, tuple)):
        return [node_to_json(i) for i in node]
    return node


def program_to_json(program: Program) -> dict[str, Any]:
    result = node_to_json(program)
    assert isinstance(result, dict)
    return result
