"""AST → text and AST → JSON.

`expr_text` reproduces the text upstream puts in the `check` field of `run --format json` (language.md §5), so
result rows stay byte-identical to upstream's. `program_to_json` is the `parse` command's output: every node as
an object tagged with its class name under `"type"`, its fields in declaration order, and spans via
`Span.to_json()`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
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
    # Member and call chains are walked in a loop: `files.a.a.a…` 1,000 deep is legal (only bracket nesting
    # is bounded, E010) and recursion would hit Python's limit.
    suffix: list[str] = []
    while isinstance(expr, (MemberAccess, Call)):
        if isinstance(expr, MemberAccess):
            suffix.append(f".{expr.member}")
            expr = expr.target
        else:
            suffix.append("(" + ", ".join(expr_text(a) for a in expr.args) + ")")
            expr = expr.callee
    return _leaf_text(expr) + "".join(reversed(suffix))


def _leaf_text(expr: Expr) -> str:
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
    raise TypeError(f"not an expression node: {expr!r}")


def node_to_json(node: object) -> Any:
    """Any AST node (or list/tuple of nodes, or plain value) as JSON-ready data.

    With an explicit stack rather than recursion, for the same reason as `expr_text`."""
    root: list[Any] = [None]
    stack: list[tuple[object, Any, Any]] = [(node, root, 0)]
    while stack:
        item, container, slot = stack.pop()
        if isinstance(item, Span):
            container[slot] = item.to_json()
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            out: dict[str, Any] = {"type": type(item).__name__}
            container[slot] = out
            for f in dataclasses.fields(item):
                out[f.name] = None  # keeps declaration order; filled below
                stack.append((getattr(item, f.name), out, f.name))
        elif isinstance(item, (list, tuple)):
            items: list[Any] = [None] * len(item)
            container[slot] = items
            stack.extend((x, items, i) for i, x in enumerate(item))
        else:
            container[slot] = item
    return root[0]


def program_to_json(program: Program) -> dict[str, Any]:
    result = node_to_json(program)
    assert isinstance(result, dict)
    return result


_dump_lock = threading.Lock()


def program_json_text(program: Program) -> str:
    """`program_to_json` as indented JSON text. The json encoder recurses once per nesting level, and a
    1,000-deep member chain is a legal program, so the limit is raised for the dump (pure-Python frames)."""
    data = program_to_json(program)
    with _dump_lock:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 20_000))
        try:
            return json.dumps(data, indent=2, ensure_ascii=False)
        finally:
            sys.setrecursionlimit(limit)
