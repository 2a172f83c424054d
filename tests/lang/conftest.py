"""Fixtures shared by the front-end tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hie_tasks.diagnostics import Diagnostic
from hie_tasks.lang.ast import Program
from hie_tasks.lang.parser import parse
from hie_tasks.lang.printer import program_to_json

_LAYOUT_ONLY = {"span", "name_span", "braces", "file"}


def _strip(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in _LAYOUT_ONLY}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


@pytest.fixture
def shape() -> Callable[[Program], Any]:
    """The AST as JSON without spans, file names and the braces flag: what both block syntaxes must share."""
    return lambda program: _strip(program_to_json(program))


@pytest.fixture
def where() -> Callable[[list[Diagnostic]], list[tuple[str, int, int]]]:
    return lambda diags: [(d.code, d.line, d.column) for d in diags]


@pytest.fixture
def parse_ok() -> Callable[[str], Program]:
    def run(source: str) -> Program:
        program, diags = parse(source, "t.hie")
        assert [d for d in diags if d.is_error] == []
        return program

    return run
