"""Diagnostics shared by every layer: the front end, the configuration loader and the interpreter.

A diagnostic always names a file and a 1-based line/column so a user can jump to it; rendering with the
source line and a caret lives here too, so every command prints problems the same way.
"""

from __future__ import annotations

from hie_tasks.model.choice import StrChoice
from hie_tasks.model.record import FrozenRecord, Record, TupleRecord, tuple_field, tuple_new

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


class Severity(StrChoice):
    ERROR = "error"
    WARNING = "warning"


class Span(TupleRecord, tuple[str, int, int, int, int]):
    """A region of a source file. Lines and columns are 1-based; the end is exclusive.

    A tuple with named fields rather than a record class because the parser builds one per syntax-tree
    node, and creating a tuple costs a fraction of setting attributes one by one. Written out rather than a
    `typing.NamedTuple`, which imports `typing` and generates code for each class. Equality, hashing and
    ordering behave as they did for the frozen dataclass this once was (a Span equals only another Span,
    spans are unordered), so the tuple base stays an implementation detail.
    """

    __slots__ = ()
    _fields = ("file", "line", "column", "end_line", "end_column")

    if TYPE_CHECKING:
        # What mypy needs to know of the fields `tuple_field` below makes (it cannot see through it).
        @property
        def file(self) -> str: ...
        @property
        def line(self) -> int: ...
        @property
        def column(self) -> int: ...
        @property
        def end_line(self) -> int: ...
        @property
        def end_column(self) -> int: ...
    else:
        file = tuple_field(0)
        line = tuple_field(1)
        column = tuple_field(2)
        end_line = tuple_field(3)
        end_column = tuple_field(4)

    def __new__(cls, file: str, line: int, column: int, end_line: int, end_column: int) -> Span:
        return tuple_new(cls, (file, line, column, end_line, end_column))


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

    def __eq__(self, other: object) -> bool:
        if other.__class__ is Span:
            return tuple.__eq__(self, other)
        # A plain tuple with the same fields is not a Span; anything else decides for itself.
        return False if isinstance(other, tuple) else NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    # The hash of the field tuple: exactly what the frozen dataclass computed.
    __hash__ = tuple.__hash__

    def _unordered(self, other: object) -> bool:
        # Tuples compare element-wise; spans, like the dataclass they replaced, do not compare at all.
        raise TypeError(f"spans are unordered (compared with {type(other).__name__})")

    __lt__ = __le__ = __gt__ = __ge__ = _unordered


class Diagnostic(FrozenRecord):
    __slots__ = ("code", "severity", "message", "span", "help", "context")

    code: str
    severity: Severity
    message: str
    span: Span
    help: str | None
    context: str | None

    def __init__(self, code: str, severity: Severity, message: str, span: Span, help: str | None = None,
                 context: str | None = None) -> None:
        self.code = code
        self.severity = severity
        self.message = message
        self.span = span
        self.help = help
        self.context = context

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


class DiagnosticBag(Record):
    """Collects diagnostics in the order they were found."""

    __slots__ = ("items",)

    items: list[Diagnostic]

    def __init__(self, items: list[Diagnostic] | None = None) -> None:
        self.items = [] if items is None else items

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
