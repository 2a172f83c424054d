"""Diagnostics shared by every layer: the front end, the configuration loader and the interpreter.

A diagnostic always names a file and a 1-based line/column so a user can jump to it; rendering with the
source line and a caret lives here too, so every command prints problems the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Span:
    """A region of a source file. Lines and columns are 1-based; the end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int) -> Span:
        return cls(file, line, column, line, column + 1)

    def to(self, other: Span) -> Span:
        """The span from the start of self to the end of other."""
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "start": {"line": self.line, "column": self.column},
            "end": {"line": self.end_line, "column": self.end_column},
        }


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    help: str | None = None
    context: str | None = None

    @property
    def file(self) -> str:
        return self.span.file

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, Any]:
        # Flat file/line/column keys keep each diagnostic greppable by CI scripts; the span carries the range.
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "span": self.span.to_json(),
        }
        if self.help is not None:
            out["help"] = self.help
        if self.context is not None:
            out["context"] = self.context
        return out


def error(code: str, message: str, span: Span, help: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, help)


def warning(code: str, message: str, span: Span, help: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, help)


@dataclass
class DiagnosticBag:
    """Collects diagnostics in the order they were found."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diag: Diagnostic) -> None:
        self.items.append(diag)

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if not d.is_error]

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


def render(diag: Diagnostic, source: str | None) -> str:
    """Human form: `error[E002]: message`, the location, the source line with a caret, then help."""
    lines = [f"{diag.severity.value}[{diag.code}]: {diag.message}", f"  --> {diag.file}:{diag.line}:{diag.column}"]
    if source is not None:
        src_lines = source.splitlines()
        if 1 <= diag.line <= len(src_lines):
            text = src_lines[diag.line - 1].replace("\t", " ")
            gutter = str(diag.line)
            pad = " " * len(gutter)
            width = 1
            if diag.span.end_line == diag.line:
                width = max(1, diag.span.end_column - diag.column)
            width = min(width, max(1, len(text) - diag.column + 1))
            lines.append(f"{pad} |")
            lines.append(f"{gutter} | {text}")
            lines.append(f"{pad} | {' ' * (diag.column - 1)}{'^' * width}")
    if diag.context:
        lines.append(f"  = note: {diag.context}")
    if diag.help:
        lines.append(f"  = help: {diag.help}")
    return "\n".join(lines)
