"""Token kinds and the token record shared by the lexer and the parser.

A token kind is an enum member whose value is the text shown to users in diagnostics, so messages such as
"expected `)`, found end of line" come straight from the kinds without a second lookup table.
"""

from __future__ import annotations

import enum
from typing import Final, NamedTuple

from hie_tasks.diagnostics import Span


class TokenKind(enum.Enum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    DOC = "doc comment"
    NEWLINE = "end of line"
    INDENT = "indentation"
    DEDENT = "end of indented block"
    EOF = "end of file"

    # keywords
    ELEMENT = "element"
    TEMPLATE = "template"
    PATTERN = "pattern"
    IMPLEMENTS = "implements"
    BINDS = "binds"
    SCOPE = "scope"
    CONNECTION_POINT = "connection_point"
    REF = "ref"
    USES = "uses"
    CHECK = "check"
    IMPORT = "import"
    FROM = "from"
    AS = "as"
    TRUE = "true"
    FALSE = "false"
    REQUIRES = "requires"
    ALLOWS = "allows"
    FORBIDS = "forbids"
    DESCENDANT = "descendant"
    CONNECTION = "connection"
    TO = "to"
    LANGUAGE = "language"
    CONNECTION_CHECK = "connection_check"

    # punctuation
    COLON = ":"
    EQUALS = "="
    DOT = "."
    COMMA = ","
    LPAREN = "("
    RPAREN = ")"
    LBRACKET = "["
    RBRACKET = "]"
    LBRACE = "{"
    RBRACE = "}"
    LANGLE = "<"
    RANGLE = ">"
    STAR = "*"

    # Members are singletons compared by identity; the C-level identity hash makes the parser's many
    # `kind in SOME_SET` tests about three times cheaper than Enum's Python-level `hash(self._name_)`.
    __hash__ = object.__hash__

    @property
    def is_layout(self) -> bool:
        return self in _LAYOUT

    def describe(self) -> str:
        """How an expected token is named in a message: keywords and punctuation in backticks."""
        if self in _NOUNS:
            return "an " + self.value if self.value[0] in "aeiou" else "a " + self.value
        if self in _CLASSES:
            return self.value
        return f"`{self.value}`"


_CLASSES = frozenset(
    {
        TokenKind.IDENT,
        TokenKind.STRING,
        TokenKind.NUMBER,
        TokenKind.DOC,
        TokenKind.NEWLINE,
        TokenKind.INDENT,
        TokenKind.DEDENT,
        TokenKind.EOF,
    }
)
_NOUNS = frozenset({TokenKind.IDENT, TokenKind.STRING, TokenKind.NUMBER, TokenKind.DOC})
_LAYOUT = frozenset({TokenKind.NEWLINE, TokenKind.INDENT, TokenKind.DEDENT})

KEYWORDS: dict[str, TokenKind] = {
    k.value: k
    for k in TokenKind
    if k.value.replace("_", "").isalpha() and k not in _CLASSES and k.value.islower()
}
PUNCTUATION: dict[str, TokenKind] = {k.value: k for k in TokenKind if len(k.value) == 1}

#: Keywords that may still name things (elements, scopes, members, path parts). The five excluded ones would
#: make import lines and boolean literals ambiguous.
RESERVED = frozenset({TokenKind.IMPORT, TokenKind.FROM, TokenKind.AS, TokenKind.TRUE, TokenKind.FALSE})
NAME_KINDS = frozenset({TokenKind.IDENT} | {k for k in KEYWORDS.values() if k not in RESERVED})


#: The lexer's output as the parser consumes it: a plain tuple (kind, text, value, line, column, end_column),
#: read by the index constants below. Building a plain tuple is a single bytecode, several times cheaper than
#: any class instance, and there is one per few characters of a spec. `Token` is the same tuple with names.
RawToken = tuple[TokenKind, str, str | int | float | None, int, int, int]
KIND: Final = 0
TEXT: Final = 1
VALUE: Final = 2
LINE: Final = 3
COLUMN: Final = 4
END_COLUMN: Final = 5


def describe(tok: RawToken) -> str:
    """How a found token is named in a message, including its text where that helps."""
    kind = tok[KIND]
    if kind is TokenKind.IDENT:
        return f"identifier `{tok[TEXT]}`"
    if kind is TokenKind.STRING or kind is TokenKind.NUMBER:
        return f"{kind.value} {tok[TEXT]}"
    if kind in _CLASSES:
        return str(kind.value)
    return f"`{tok[TEXT]}`"


class _TokenFields(NamedTuple):
    kind: TokenKind
    text: str
    value: str | int | float | None
    line: int
    column: int
    end_column: int


class Token(_TokenFields):
    """One token; it never spans lines. Line and columns are 1-based, `end_column` is exclusive.

    `value` is the decoded payload: the unescaped text of a string, the int/float of a number, the stripped
    text of a doc comment; None otherwise.

    The named view of a `RawToken`, for callers of `tokenize` that want fields by name.
    """

    __slots__ = ()

    @property
    def end_line(self) -> int:
        return self.line

    def span(self, file: str) -> Span:
        return Span(file, self.line, self.column, self.line, self.end_column)

    def describe(self) -> str:
        """How a found token is named in a message, including its text where that helps."""
        return describe(self)

    def __repr__(self) -> str:
        return f"Token({self.kind.name}, {self.text!r}, {self.line}:{self.column})"
