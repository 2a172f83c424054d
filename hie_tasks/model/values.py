"""The value model: what expressions evaluate to and what flows between the interpreter and libraries.

Plain Python objects stand for the simple kinds so library code stays readable:
Null → None, Bool → bool, Int → int, Float → float, String → str, List → list.
Scope and ConnectionPoint get their own classes, hashable and compared by value (`hie_tasks.model.record`:
dataclasses cost more to import than a partial rerun may spend). `bool` is a subclass of `int` in Python,
so code that distinguishes Int from Bool must test `bool` first (the helpers below do).
"""

from __future__ import annotations

from hie_tasks.model.choice import StrChoice
from hie_tasks.model.record import FrozenRecord

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any, TypeAlias


class ScopeKindTag(StrChoice):
    FILE = "File"
    FOLDER = "Folder"
    GLOB = "Glob"


class ScopeKind(FrozenRecord):
    __slots__ = ("tag", "text")

    tag: ScopeKindTag
    text: str

    def __init__(self, tag: ScopeKindTag, text: str) -> None:
        self.tag = tag
        self.text = text

    @classmethod
    def file(cls, text: str) -> ScopeKind:
        return cls(ScopeKindTag.FILE, text)

    @classmethod
    def folder(cls, text: str) -> ScopeKind:
        return cls(ScopeKindTag.FOLDER, text)

    @classmethod
    def glob(cls, text: str) -> ScopeKind:
        return cls(ScopeKindTag.GLOB, text)


class Scope(FrozenRecord):
    __slots__ = ("kind", "paths", "resolved")

    kind: ScopeKind
    paths: tuple[str, ...]
    resolved: bool

    def __init__(self, kind: ScopeKind, paths: tuple[str, ...] = (), resolved: bool = True) -> None:
        self.kind = kind
        self.paths = paths
        self.resolved = resolved


class ConnectionPoint(FrozenRecord):
    __slots__ = ("name", "kind", "data")
    #: compared, but a dict cannot be hashed
    _unhashed = ("data",)

    name: str
    kind: str
    data: dict[str, Any]

    def __init__(self, name: str, kind: str, data: dict[str, Any] | None = None) -> None:
        self.name = name
        self.kind = kind
        self.data = {} if data is None else data


Value: TypeAlias = bool | int | float | str | list["Value"] | Scope | ConnectionPoint | None


class ValueKind(StrChoice):
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


class Status(StrChoice):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


class Location(FrozenRecord):
    """A place in a workspace file that explains a verdict (the line importing a forbidden module).

    `file` is as the library saw it (absolute for built-ins); `line` is 1-based, 0 when only the file is known.
    """

    __slots__ = ("file", "line")

    file: str
    line: int

    def __init__(self, file: str, line: int = 0) -> None:
        self.file = file
        self.line = line

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}


class CheckResult(FrozenRecord):
    """A check's verdict. `message` is None for Pass.

    `locations` name the offending sources as structured data next to upstream's message text, which stays
    unchanged so verdict messages still compare equal to upstream's. They are not part of a verdict's
    equality: two results with the same status and message are the same verdict.
    """

    __slots__ = ("status", "message", "locations", "stable")
    _uncompared = ("locations", "stable")

    status: Status
    message: str | None
    locations: tuple[Location, ...]
    #: an Error that is the library's answer to these inputs, as repeatable as a Pass (a built-in's "Source
    #: scope has no paths"), not a failure to answer (a file that could not be read, a crashed plugin):
    #: the result store replays it like any verdict
    stable: bool

    def __init__(self, status: Status, message: str | None = None, locations: tuple[Location, ...] = (),
                 stable: bool = False) -> None:
        self.status = status
        self.message = message
        self.locations = locations
        self.stable = stable

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
