"""The syntax tree of a `.hie` file: typed dataclasses, each with the source span it came from.

Produced by `parser`, consumed by `validate`, the interpreter, `--dry-run` and `parse` (JSON form).
This module imports nothing from the rest of the package except `Span`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hie_tasks.diagnostics import Span

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Identifier:
    name: str
    span: Span


@dataclass(frozen=True)
class StringLit:
    value: str
    span: Span


@dataclass(frozen=True)
class NumberLit:
    """`10` and `10.0` are Int values (value is an int); `2.5` is a Float. `text` is what was written."""

    value: int | float
    text: str
    span: Span


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span


@dataclass(frozen=True)
class ListLit:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class MemberAccess:
    target: Expr
    member: str
    span: Span


@dataclass(frozen=True)
class Call:
    callee: Expr
    args: tuple[Expr, ...]
    span: Span


Expr = Identifier | StringLit | NumberLit | BoolLit | ListLit | MemberAccess | Call

# ---------------------------------------------------------------- items inside elements and patterns


@dataclass
class ScopeDecl:
    name: str
    language: str | None
    #: "angle" for `scope s<python>`, "colon" for the legacy `scope s : python`, None without a language.
    language_syntax: str | None
    binds: tuple[str, ...] | None
    expr: Expr | None
    span: Span
    doc: str | None = None


@dataclass
class RefDecl:
    #: "ref" or "connection_point"
    keyword: str
    name: str
    type_name: str
    binds: tuple[str, ...] | None
    expr: Expr | None
    span: Span
    doc: str | None = None


@dataclass
class CheckDecl:
    expr: Expr
    span: Span
    doc: str | None = None


@dataclass
class UsesDecl:
    source: str
    target: tuple[str, ...]
    span: Span
    doc: str | None = None


@dataclass
class Binding:
    path: tuple[str, ...]
    expr: Expr
    span: Span
    doc: str | None = None


@dataclass
class ConnectionReq:
    has_to: bool
    pattern: tuple[str, ...]
    wildcard: bool
    span: Span


@dataclass
class ImplementsReq:
    pattern: str
    span: Span


@dataclass
class LanguageReq:
    language: str
    span: Span


@dataclass
class ElementReq:
    name: str
    type_name: str | None
    implements: str | None
    items: list[ElementItem]
    span: Span


Component = ScopeDecl | RefDecl | CheckDecl | ConnectionReq | ImplementsReq | LanguageReq | ElementReq


@dataclass
class Requirement:
    #: "requires" | "allows" | "forbids"
    kind: str
    descendant: bool
    component: Component
    span: Span
    doc: str | None = None


@dataclass
class Element:
    name: str
    implements: tuple[str, ...]
    items: list[ElementItem]
    span: Span
    #: span of the name only, for precise diagnostics
    name_span: Span
    doc: str | None = None
    braces: bool = False
    #: `element layer: Layer` inside a pattern names the element's type; None elsewhere.
    type_name: str | None = None

    @property
    def scopes(self) -> list[ScopeDecl]:
        return [i for i in self.items if isinstance(i, ScopeDecl)]

    @property
    def checks(self) -> list[CheckDecl]:
        return [i for i in self.items if isinstance(i, CheckDecl)]

    @property
    def children(self) -> list[Element]:
        return [i for i in self.items if isinstance(i, Element)]


ElementItem = ScopeDecl | RefDecl | CheckDecl | Element | UsesDecl | Binding | Requirement


@dataclass
class Pattern:
    #: "pattern" or the legacy "template"
    keyword: str
    name: str
    items: list[ElementItem]
    span: Span
    name_span: Span
    doc: str | None = None
    braces: bool = False


@dataclass
class ConnectionCheckDecl:
    name: str
    params: tuple[str, ...]
    body: Expr
    span: Span
    doc: str | None = None


@dataclass
class LanguageDecl:
    name: str
    connection_checks: list[ConnectionCheckDecl]
    span: Span
    doc: str | None = None


Declaration = Element | Pattern | LanguageDecl

# ---------------------------------------------------------------- files


@dataclass
class Import:
    #: "import" for `import x [as y]`, "from" for `from x import a, b`
    form: str
    #: the dotted parts of an identifier path, or one item holding the string of a path import
    path: tuple[str, ...]
    is_string: bool
    alias: str | None
    names: tuple[str, ...]
    span: Span

    @property
    def dotted(self) -> str:
        return self.path[0] if self.is_string else ".".join(self.path)


@dataclass
class Program:
    file: str
    imports: list[Import] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)

    @property
    def elements(self) -> list[Element]:
        return [d for d in self.declarations if isinstance(d, Element)]

    @property
    def patterns(self) -> list[Pattern]:
        return [d for d in self.declarations if isinstance(d, Pattern)]
