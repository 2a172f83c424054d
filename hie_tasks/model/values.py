"""The value model: what expressions evaluate to and what flows between the interpreter and libraries.

Plain Python objects stand for the simple kinds so library code stays readable:
Null → None, Bool → bool, Int → int, Float → float, String → str, List → list.
Scope and ConnectionPoint get their own frozen dataclasses. `bool` is a subclass of `int` in Python,
so code that distinguishes Int from Bool must test `bool` first (the helpers below do).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, TypeAlias


class ScopeKindTag(str, enum.Enum):
    FILE = "File"
    FOLDER = "Folder"
    GLOB = "Glob"


@dataclass(frozen=True)
class ScopeKind:
    tag: ScopeKindTag
    text: str

    @classmethod
    def file(cls, text: str) -> ScopeKind:
        return cls(ScopeKindTag.FILE, text)

    @classmethod
    def folder(cls, text: str) -> ScopeKind:
        return cls(ScopeKindTag.FOLDER, text)

    @classmethod
    def glob(cls, text: str) -> ScopeKind:
        return cls(ScopeKindTag.GLOB, text)


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    paths: tuple[str, ...] = ()
    resolved: bool = True


@dataclass(frozen=True)
class ConnectionPoint:
    name: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)


Value: TypeAlias = bool | int | float | str | list["Value"] | Scope | ConnectionPoint | None


class ValueKind(str, enum.Enum):
    NULL = "Null"
    BOOL = "Bool"
    INT = "Int"
    FLOAT = "Float"
    STRING = "String"
    LIST = "List"
    SCOPE = "Scope"
    CONNECTION_POINT = "ConnectionPoint"


def kind_of(value: Value) -> ValueKind:
    if value is None:
        return ValueKind.NULL
    if isinstance(value, bool):
        return ValueKind.BOOL
    if isinstance(value, int):
        return ValueKind.INT
    if isinstance(value, float):
        return ValueKind.FLOAT
    if isinstance(value, str):
        return ValueKind.STRING
    if isinstance(value, list):
        return ValueKind.LIST
    if isinstance(value, Scope):
        return ValueKind.SCOPE
    if isinstance(value, ConnectionPoint):
        return ValueKind.CONNECTION_POINT
    raise TypeError(f"not a hielements value: {value!r}")


def is_int(value: Value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_string(value: Value) -> str | None:
    return value if isinstance(value, str) else None


def as_scope(value: Value) -> Scope | None:
    return value if isinstance(value, Scope) else None


class Status(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


@dataclass(frozen=True)
class Location:
    """A place in a workspace file that explains a verdict (the line importing a forbidden module).

    `file` is as the library saw it (absolute for built-ins); `line` is 1-based, 0 when only the file is known.
    """

    file: str
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}


@dataclass(frozen=True)
class CheckResult:
    """A check's verdict. `message` is None for Pass.

    `locations` name the offending sources as structured data next to upstream's message text, which stays
    unchanged so verdict messages still compare equal to upstream's. They are not part of a verdict's
    equality: two results with the same status and message are the same verdict.
    """

    status: Status
    message: str | None = None
    locations: tuple[Location, ...] = field(default=(), compare=False)
    #: an Error that is the library's answer to these inputs, as repeatable as a Pass (a built-in's "Source
    #: scope has no paths"), not a failure to answer (a file that could not be read, a crashed plugin):
    #: the result store replays it like any verdict
    stable: bool = field(default=False, compare=False)

    @classmethod
    def passed(cls) -> CheckResult:
        return cls(Status.PASS, None)

    @classmethod
    def failed(cls, message: str, locations: tuple[Location, ...] = ()) -> CheckResult:
        return cls(Status.FAIL, message, locations)

    @classmethod
    def errored(cls, message: str, *, stable: bool = False) -> CheckResult:
        return cls(Status.ERROR, message, stable=stable)

    @property
    def ok(self) -> bool:
        return self.status is Status.PASS
