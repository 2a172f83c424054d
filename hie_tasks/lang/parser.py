"""Tokens → AST: a recursive-descent parser for the whole Hielements grammar (language.md §2).

Error recovery works at statement level: a mistake inside an element, pattern or language body is reported,
the rest of that statement (its line, plus any `{…}` or indented body it opened) is skipped, and parsing goes
on with the next item, so independent mistakes each get their own diagnostic. A broken top-level declaration
header skips forward to the next `element`/`pattern`/`template`/`language` (or `##` doc) in column 1.

Codes raised here (table in language.md §3): E001–E004, E006–E008, E011–E016, plus our own
- E010: brackets or elements nested deeper than `MAX_NESTING` (a diagnostic instead of a RecursionError).
E005 is used when `import`/`from` is followed by neither a name nor a quoted path; E006 when a number is
malformed (`1.` or `1.2.3`), the only place the grammar needs a number's shape.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from hie_tasks.diagnostics import Diagnostic, Span, error
from hie_tasks.lang.ast import (
    Binding,
    BoolLit,
    Call,
    CheckDecl,
    Component,
    ConnectionCheckDecl,
    ConnectionReq,
    Declaration,
    Element,
    ElementItem,
    ElementReq,
    Expr,
    Identifier,
    ImplementsReq,
    Import,
    LanguageDecl,
    LanguageReq,
    ListLit,
    MemberAccess,
    NumberLit,
    Pattern,
    Program,
    RefDecl,
    Requirement,
    ScopeDecl,
    StringLit,
    UsesDecl,
)
from hie_tasks.lang.lexer import gc_paused, scan
from hie_tasks.lang.tokens import (
    COLUMN,
    END_COLUMN,
    KIND,
    LINE,
    NAME_KINDS,
    TEXT,
    VALUE,
    RawToken,
    TokenKind,
    describe,
)

#: Deepest nesting of brackets in one expression, and of elements in one declaration.
MAX_NESTING = 100

K = TokenKind
# Spans are built with `tuple.__new__` directly: one per syntax-tree node, and the named tuple's own `__new__`
# is a Python-level wrapper around exactly this call.
_new = tuple.__new__
_NEWLINE, _INDENT, _DEDENT, _EOF, _DOC = K.NEWLINE, K.INDENT, K.DEDENT, K.EOF, K.DOC
_LAYOUT = frozenset({_NEWLINE, _INDENT, _DEDENT})
_TOP_KEYWORDS = frozenset({K.ELEMENT, K.PATTERN, K.TEMPLATE, K.LANGUAGE, _DOC})
_REQUIREMENT_KEYWORDS = frozenset({K.REQUIRES, K.ALLOWS, K.FORBIDS})
#: What may follow `element x: T` when `T` is a type annotation rather than the start of an indented body.
_AFTER_TYPE = frozenset({K.LBRACE, K.COLON, K.IMPLEMENTS, _NEWLINE, K.RBRACE, _EOF})

_ELEMENT_EXPECTED = "`scope`, `ref`, `connection_point`, `check`, `element`, `uses` or a binding `a.b = …`"
_PATTERN_EXPECTED = (
    "`scope`, `ref`, `connection_point`, `check`, `element`, `requires`, `allows` or `forbids`"
)

T = TypeVar("T")


class _Ctx(enum.Enum):
    """Where a body sits; decides which items are allowed and whether scopes may stay unbounded."""

    REGULAR = "element"  # an element outside any pattern
    PATTERN = "pattern"  # the body of a pattern/template itself
    NESTED = "nested"  # an element inside a pattern (or inside a `requires element`)


class _Abort(Exception):
    """Unwinds to the nearest statement boundary; the diagnostic has already been recorded."""


class _Parser:
    def __init__(self, tokens: list[RawToken], file: str, diags: list[Diagnostic]) -> None:
        self.toks = tokens
        self.pos = 0
        self.file = file
        self.diags = diags
        self.brace_depth = 0
        # Error recovery only: DEDENTs owed by unexpected INDENTs already reported; they end no block.
        self.debt = 0
        self.nesting = 0
        self.depth = 0  # bracket nesting inside the current statement's expressions

    # ------------------------------------------------------------ token helpers

    def _advance(self) -> RawToken:
        tok = self.toks[self.pos]
        if tok[KIND] is not _EOF:
            self.pos += 1
        return tok

    def _span(self, tok: RawToken) -> Span:
        return _new(Span, (self.file, tok[LINE], tok[COLUMN], tok[LINE], tok[END_COLUMN]))

    def _since(self, start: RawToken) -> Span:
        """From `start` to the end of the last consumed non-layout token."""
        i = self.pos - 1
        toks = self.toks
        while i > 0 and toks[i][KIND] in _LAYOUT:
            i -= 1
        last = toks[i]
        return _new(Span, (self.file, start[LINE], start[COLUMN], last[LINE], last[END_COLUMN]))

    def _report(self, code: str, message: str, at: RawToken | Span, help: str | None = None) -> None:
        span = at if isinstance(at, Span) else self._span(at)
        self.diags.append(error(code, message, span, help))

    def _fail(self, code: str, message: str, at: RawToken | Span, help: str | None = None) -> _Abort:
        self._report(code, message, at, help)
        return _Abort()

    def _expect(self, kind: TokenKind, purpose: str, help: str | None = None) -> RawToken:
        tok = self.toks[self.pos]
        if tok[KIND] is kind:
            self.pos += 1
            return tok
        raise self._fail("E007", f"expected {kind.describe()} {purpose}, found {describe(tok)}", tok, help)

    def _name(self, purpose: str) -> RawToken:
        tok = self.toks[self.pos]
        if tok[KIND] in NAME_KINDS:
            self.pos += 1
            return tok
        raise self._fail("E004", f"expected an identifier {purpose}, found {describe(tok)}", tok)

    def _path(self, purpose: str) -> tuple[str, ...]:
        parts = [self._name(purpose)[TEXT]]
        while self.toks[self.pos][KIND] is K.DOT:
            self.pos += 1
            parts.append(self._name("after `.`")[TEXT])
        return tuple(parts)

    def _end(self, what: str, help: str | None = None) -> None:
        """A statement ends at a newline, or at the `}` closing an enclosing brace block."""
        tok = self.toks[self.pos]
        kind = tok[KIND]
        if kind is _NEWLINE:
            self.pos += 1
        elif kind is not _EOF:
            # Upstream requires the line break even before a `}` (`check f(x) }` is an E008 there).
            raise self._fail("E008", f"expected end of line after {what}, found {describe(tok)}", tok, help)

    # ------------------------------------------------------------ recovery

    def _sync_statement(self, start: int) -> None:
        """Skip the rest of a broken statement: its line and any brace or indented body it opened."""
        toks = self.toks
        if self.pos == start and toks[self.pos][KIND] is not _EOF:
            self.pos += 1
        depth = 0
        while True:
            kind = toks[self.pos][KIND]
            if kind is _EOF:
                return
            if kind is K.LBRACE:
                depth += 1
            elif kind is K.RBRACE:
                if depth == 0:
                    if self.brace_depth > 0:
                        return  # it closes the enclosing block
                else:
                    depth -= 1
            elif depth == 0:
                if kind is _NEWLINE:
                    self.pos += 1
                    if toks[self.pos][KIND] is _INDENT:
                        self._skip_indented()
                    return
                if kind is _DEDENT:
                    return
            self.pos += 1

    def _skip_indented(self) -> None:
        """Skip an INDENT … matching DEDENT run (the body of a statement that failed to parse)."""
        depth = 0
        toks = self.toks
        while True:
            kind = toks[self.pos][KIND]
            if kind is _EOF:
                return
            self.pos += 1
            if kind is _INDENT:
                depth += 1
            elif kind is _DEDENT:
                depth -= 1
                if depth == 0:
                    return

    def _sync_top(self, start: int) -> None:
        toks = self.toks
        if self.pos == start and toks[self.pos][KIND] is not _EOF:
            self.pos += 1
        while True:
            tok = toks[self.pos]
            if tok[KIND] is _EOF:
                return
            if tok[COLUMN] == 1 and tok[KIND] in _TOP_KEYWORDS and toks[self.pos - 1][KIND] in _LAYOUT:
                return
            self.pos += 1

    # ------------------------------------------------------------ program and imports

    def program(self) -> Program:
        prog = Program(self.file)
        toks = self.toks
        seen_declaration = False
        docs: list[str] = []
        while True:
            tok = toks[self.pos]
            kind = tok[KIND]
            if kind is _EOF:
                break
            if kind is _NEWLINE:
                self.pos += 1
                continue
            # An INDENT or DEDENT here is an E001, as upstream: an indented first line, a comment line
            # deeper than the declarations, a `}` indented deeper than its element's header.
            if kind is _DOC:
                docs.append(str(tok[VALUE]))
                self.pos += 1
                continue
            doc = "\n".join(docs) if docs else None
            docs = []
            start = self.pos
            if kind is K.IMPORT or kind is K.FROM:
                if seen_declaration:
                    self._report(
                        "E001",
                        "imports must come before the first declaration",
                        tok,
                        help="move this import to the top of the file",
                    )
                imp = self._import_statement()
                if imp is not None and not seen_declaration:
                    prog.imports.append(imp)
                continue
            try:
                prog.declarations.append(self._declaration(tok, doc))
                seen_declaration = True
            except _Abort:
                seen_declaration = seen_declaration or kind in _TOP_KEYWORDS
                self._sync_top(start)
            self.debt = 0
            self.brace_depth = 0
            self.nesting = 0
        return prog

    def _declaration(self, tok: RawToken, doc: str | None) -> Declaration:
        kind = tok[KIND]
        if kind is K.ELEMENT:
            return self._element(doc, _Ctx.REGULAR)
        if kind is K.PATTERN or kind is K.TEMPLATE:
            return self._pattern(doc)
        if kind is K.LANGUAGE:
            return self._language(doc)
        raise self._fail(
            "E001",
            f"expected `element`, `pattern`, `template` or `language` at top level, found {describe(tok)}",
            tok,
        )

    def _import_statement(self) -> Import | None:
        start = self.pos
        try:
            return self._import()
        except _Abort:
            self._sync_statement(start)
            return None

    def _import(self) -> Import:
        kw = self._advance()
        path, is_string = self._import_path(kw)
        if kw[KIND] is K.IMPORT:
            alias = None
            if self.toks[self.pos][KIND] is K.AS:
                self.pos += 1
                alias = self._name("after `as`")[TEXT]
            span = self._since(kw)
            self._end("the import")
            return Import("import", path, is_string, alias, (), span)
        self._expect(K.IMPORT, "after the module path of a `from` import")
        names = [self._name("to import")[TEXT]]
        while self.toks[self.pos][KIND] is K.COMMA:
            self.pos += 1
            names.append(self._name("to import after `,`")[TEXT])
        span = self._since(kw)
        self._end("the import")
        return Import("from", path, is_string, None, tuple(names), span)

    def _import_path(self, kw: RawToken) -> tuple[tuple[str, ...], bool]:
        tok = self.toks[self.pos]
        if tok[KIND] is K.STRING:
            self.pos += 1
            return (str(tok[VALUE]),), True
        if tok[KIND] in NAME_KINDS:
            return self._path("in the import path"), False
        raise self._fail(
            "E005",
            f"expected a library name or a quoted spec path after `{kw[TEXT]}`, found {describe(tok)}",
            tok,
            help="for example `import files` or `import './specs/core.hie'`",
        )

    # ------------------------------------------------------------ blocks

    def _block(self, owner: str, item: Callable[[str | None], T | None]) -> tuple[list[T], bool]:
        """Parse `{ items }` or `: NL INDENT items DEDENT`; returns the items and whether braces were used."""
        tok = self.toks[self.pos]
        if tok[KIND] is K.LBRACE:
            return self._brace_body(item), True
        if tok[KIND] is not K.COLON:
            raise self._fail(
                "E007", f"expected `:` or `{{` to open the body of {owner}, found {describe(tok)}", tok
            )
        self.pos += 1
        broke = self.toks[self.pos][KIND] is _NEWLINE
        if broke:
            self.pos += 1
        if self.toks[self.pos][KIND] is not _INDENT:
            # Upstream expects the INDENT right after `:` (and its line break): `element x: y` is an E007.
            found = self.toks[self.pos]
            message = f"expected an indented block for the body of {owner}, found {describe(found)}"
            if not broke:
                raise self._fail(
                    "E007", message, found,
                    help="`element x: T` type annotations do not exist; `:` opens an indented body",
                )
            self._report("E007", message, found, help="indent the body under the line ending with `:`, or use `{ … }`")
            return [], False
        self.pos += 1
        return self._colon_body(item), False

    def _colon_body(self, item: Callable[[str | None], T | None]) -> list[T]:
        """The items of an indented body, up to its DEDENT; a body of comment lines only is empty."""
        items: list[T] = []
        docs: list[str] = []
        toks = self.toks
        while True:
            tok = toks[self.pos]
            kind = tok[KIND]
            if kind is _NEWLINE:
                self.pos += 1
            elif kind is _DEDENT:
                # Doc comments left pending at the end of an indented body are dropped (upstream).
                self.pos += 1
                if self.debt > 0:
                    self.debt -= 1
                    continue
                return items
            elif kind is _EOF:
                return items
            elif kind is _INDENT and not docs:
                self._report("E002", "unexpected indentation", tok, help="align this line with the one above")
                self.pos += 1
                self.debt += 1  # recovery: its DEDENT does not end this block
            elif kind is _DOC:
                docs.append(str(tok[VALUE]))
                self.pos += 1
            else:
                # After doc comments an INDENT is the item itself, hence an E002 (upstream).
                self._item(items, docs, item)
                docs = []

    def _brace_body(self, item: Callable[[str | None], T | None]) -> list[T]:
        """The items of a `{…}` body. As upstream: layout tokens between items are skipped whether or not they
        pair up (so the block may swallow DEDENTs of an enclosing indented body, or leave INDENTs behind
        for it), a `}` ends it, and so does the end of the file, silently."""
        self._advance()
        items: list[T] = []
        docs: list[str] = []
        toks = self.toks
        self.brace_depth += 1
        try:
            while True:
                tok = toks[self.pos]
                kind = tok[KIND]
                if kind is _NEWLINE or (kind in _LAYOUT and not docs):
                    self.pos += 1
                elif kind is K.RBRACE:
                    self.pos += 1
                    break
                elif kind is _EOF:
                    break
                elif kind is _DOC:
                    docs.append(str(tok[VALUE]))
                    self.pos += 1
                else:
                    # After doc comments only line breaks are skipped: an INDENT or DEDENT there is the item
                    # itself, an E002 (upstream), e.g. a `##` line as the last line of the body.
                    self._item(items, docs, item)
                    docs = []
        finally:
            self.brace_depth -= 1
        return items

    def _item(self, items: list[T], docs: list[str], item: Callable[[str | None], T | None]) -> None:
        start = self.pos
        self.depth = 0
        try:
            parsed = item("\n".join(docs) if docs else None)
        except _Abort:
            self._sync_statement(start)
            return
        if parsed is not None:
            items.append(parsed)

    # ------------------------------------------------------------ declarations

    def _element(self, doc: str | None, ctx: _Ctx) -> Element:
        kw = self._advance()
        name = self._name("for the element name")
        toks = self.toks
        # Upstream has no `element x: Type` annotation, not even inside a pattern: `:` opens the body there
        # too, so `element layer: Layer` is an E007 (the oracle). `type_name` stays for the AST's shape.
        type_name: str | None = None
        implements: list[str] = []
        if toks[self.pos][KIND] is K.IMPLEMENTS:
            self.pos += 1
            implements.append(self._name("after `implements`")[TEXT])
            while toks[self.pos][KIND] is K.COMMA:
                self.pos += 1
                implements.append(self._name("after `,` in the implements list")[TEXT])
        child = _Ctx.REGULAR if ctx is _Ctx.REGULAR else _Ctx.NESTED
        items: list[ElementItem]
        if (
            type_name is not None
            and toks[self.pos][KIND] is not K.LBRACE
            and toks[self.pos][KIND] is not K.COLON
        ):
            self._end(f"element `{name[TEXT]}`")
            items, braces = [], False
        else:
            self.nesting += 1
            try:
                if self.nesting > MAX_NESTING:
                    raise self._fail("E010", f"elements nested more than {MAX_NESTING} levels deep", name)
                items, braces = self._block(f"element `{name[TEXT]}`", partial(self._member, ctx=child))
            finally:
                self.nesting -= 1
        return Element(
            name[TEXT],
            tuple(implements),
            items,
            self._since(kw),
            self._span(name),
            doc,
            braces,
            type_name,
        )

    def _pattern(self, doc: str | None) -> Pattern:
        kw = self._advance()
        name = self._name(f"for the {kw[TEXT]} name")
        items: list[ElementItem]
        items, braces = self._block(f"{kw[TEXT]} `{name[TEXT]}`", partial(self._member, ctx=_Ctx.PATTERN))
        return Pattern(kw[TEXT], name[TEXT], items, self._since(kw), self._span(name), doc, braces)

    def _language(self, doc: str | None) -> LanguageDecl:
        kw = self._advance()
        name = self._name("for the language name")
        kind = self.toks[self.pos][KIND]
        if kind is not K.COLON and kind is not K.LBRACE:
            span = self._since(kw)
            self._end(f"language `{name[TEXT]}`", help="to declare connection checks, end the line with `:`")
            return LanguageDecl(name[TEXT], [], span, doc)
        checks, _ = self._block(f"language `{name[TEXT]}`", self._language_item)
        return LanguageDecl(name[TEXT], checks, self._since(kw), doc)

    def _language_item(self, doc: str | None) -> ConnectionCheckDecl:
        tok = self.toks[self.pos]
        if tok[KIND] is not K.CONNECTION_CHECK:
            raise self._fail(
                "E013",
                f"expected `connection_check` in a language body, found {describe(tok)}",
                tok,
                help="a language body holds only `connection_check name(a: scope[], …):` declarations",
            )
        kw = self._advance()
        name = self._name("for the connection check name")
        self._expect(K.LPAREN, f"to start the parameters of connection_check `{name[TEXT]}`")
        params: list[str] = []
        toks = self.toks
        while toks[self.pos][KIND] is not K.RPAREN:
            params.append(self._name("for a parameter name")[TEXT])
            self._expect(K.COLON, "after the parameter name", help="parameters are written `name: scope[]`")
            self._expect(K.SCOPE, "as the parameter type", help="parameters are written `name: scope[]`")
            self._expect(K.LBRACKET, "after `scope` in the parameter type")
            self._expect(K.RBRACKET, "to close `scope[` in the parameter type")
            if toks[self.pos][KIND] is not K.COMMA:
                break
            self.pos += 1
        self._expect(K.RPAREN, "to close the parameter list")
        self._expect(K.COLON, "before the connection check body")
        self._expect(_NEWLINE, "after `:`; the body goes on the next, indented line")
        self._expect(_INDENT, f"for the body of connection_check `{name[TEXT]}`")
        body = self._expr()
        self._end("the connection check expression")
        while toks[self.pos][KIND] is _NEWLINE:
            self.pos += 1
        self._expect(_DEDENT, "after the connection check expression: the body is one expression")
        return ConnectionCheckDecl(name[TEXT], tuple(params), body, self._since(kw), doc)

    # ------------------------------------------------------------ body items

    def _member(self, doc: str | None, ctx: _Ctx) -> ElementItem | None:
        toks = self.toks
        tok = toks[self.pos]
        kind = tok[KIND]
        if kind is K.SCOPE:
            return self._scope(doc, ctx)
        if kind is K.CHECK:
            return self._check(doc)
        if kind is K.REF or kind is K.CONNECTION_POINT:
            return self._ref(doc, ctx)
        if kind is K.ELEMENT:
            return self._element(doc, ctx)
        if kind in _REQUIREMENT_KEYWORDS:
            if ctx is _Ctx.REGULAR:
                self._report(
                    "E012",
                    f"`{tok[TEXT]}` is only allowed inside a pattern",
                    tok,
                    help="move the requirement into a `pattern` and let the element `implements` it",
                )
                self._requirement(doc)
                return None
            return self._requirement(doc)
        following = toks[self.pos + 1][KIND]
        if ctx is not _Ctx.PATTERN:
            if kind in NAME_KINDS:
                if following is K.USES:
                    return self._uses(doc)
                if following is K.DOT and self._looks_like_binding():
                    return self._binding(doc)
            if kind is K.USES or following is K.USES:
                raise self._fail(
                    "E016",
                    f"`uses` needs an identifier before it, found {describe(tok)}",
                    tok,
                    help="write `source uses target.path`",
                )
        if kind is K.PATTERN or kind is K.TEMPLATE:
            raise self._fail(
                "E002",
                f"a {tok[TEXT]} cannot be declared inside an element or pattern",
                tok,
                help=f"declare the {tok[TEXT]} at top level",
            )
        expected = _PATTERN_EXPECTED if ctx is _Ctx.PATTERN else _ELEMENT_EXPECTED
        help = None
        if kind in NAME_KINDS and following is K.EQUALS:
            help = (
                f"to declare a scope write `scope {tok[TEXT]} = …`; a binding needs a dotted path `a.b = …`"
            )
        raise self._fail(
            "E002", f"unexpected {describe(tok)} in {ctx.value} body; expected {expected}", tok, help
        )

    def _looks_like_binding(self) -> bool:
        toks = self.toks
        i = self.pos + 1
        while toks[i][KIND] is K.DOT and toks[i + 1][KIND] in NAME_KINDS:
            i += 2
        return toks[i][KIND] is K.EQUALS

    def _scope(self, doc: str | None, ctx: _Ctx) -> ScopeDecl:
        kw = self._advance()
        name = self._name("for the scope name")
        toks = self.toks
        language: str | None = None
        syntax: str | None = None
        kind = toks[self.pos][KIND]
        if kind is K.LANGLE:
            self.pos += 1
            language = self._name("for the scope language inside `<…>`")[TEXT]
            self._expect(K.RANGLE, "to close the language annotation")
            syntax = "angle"
        elif kind is K.COLON:
            self.pos += 1
            language = self._name("for the scope language after `:`")[TEXT]
            syntax = "colon"
        binds = self._binds()
        expr = self._assignment()
        span = self._since(kw)
        self._end(
            f"scope `{name[TEXT]}`", help="did you forget `=` before the selector?" if expr is None else None
        )
        if expr is None and ctx is _Ctx.REGULAR:
            self._report(
                "E014",
                f"scope `{name[TEXT]}` has no selector; every scope of an element needs `= expression`",
                span,
                help="write `scope x = files.folder_selector('…')`; only elements inside patterns may leave "
                "scopes unbounded",
            )
        return ScopeDecl(name[TEXT], language, syntax, binds, expr, span, doc)

    def _ref(self, doc: str | None, ctx: _Ctx) -> RefDecl:
        kw = self._advance()
        name = self._name(f"for the {kw[TEXT]} name")
        self._expect(
            K.COLON,
            f"and a type after `{kw[TEXT]} {name[TEXT]}`",
            help=f"write `{kw[TEXT]} {name[TEXT]}: Type = …`",
        )
        type_name = self._name(f"for the type of `{name[TEXT]}`")[TEXT]
        binds = self._binds()
        expr = self._assignment()
        span = self._since(kw)
        self._end(f"{kw[TEXT]} `{name[TEXT]}`")
        if expr is None and ctx is _Ctx.REGULAR:
            self._report(
                "E015",
                f"{kw[TEXT]} `{name[TEXT]}` has no value; every ref of an element needs `= expression`",
                span,
                help="only elements inside patterns may leave refs unbounded",
            )
        return RefDecl(kw[TEXT], name[TEXT], type_name, binds, expr, span, doc)

    def _binds(self) -> tuple[str, ...] | None:
        if self.toks[self.pos][KIND] is not K.BINDS:
            return None
        self.pos += 1
        return self._path("after `binds`")

    def _assignment(self) -> Expr | None:
        if self.toks[self.pos][KIND] is not K.EQUALS:
            return None
        self.pos += 1
        return self._expr()

    def _check(self, doc: str | None) -> CheckDecl:
        kw = self._advance()
        expr = self._expr()
        span = self._since(kw)
        self._end("the check expression")
        return CheckDecl(expr, span, doc)

    def _uses(self, doc: str | None) -> UsesDecl:
        source = self._advance()
        self.pos += 1  # `uses`, seen by the lookahead
        target = self._path("after `uses`")
        span = self._since(source)
        self._end("the uses declaration")
        return UsesDecl(source[TEXT], target, span, doc)

    def _binding(self, doc: str | None) -> Binding:
        start = self.toks[self.pos]
        path = self._path("in the binding path")
        self.pos += 1  # `=`, seen by the lookahead
        expr = self._expr()
        span = self._since(start)
        self._end("the binding")
        return Binding(path, expr, span, doc)

    # ------------------------------------------------------------ requirements (patterns only)

    def _requirement(self, doc: str | None) -> Requirement:
        kw = self._advance()
        descendant = False
        if self.toks[self.pos][KIND] is K.DESCENDANT:
            self.pos += 1
            descendant = True
        component = self._component(kw)
        return Requirement(kw[TEXT], descendant, component, self._since(kw), doc)

    def _component(self, kw: RawToken) -> Component:
        toks = self.toks
        tok = toks[self.pos]
        kind = tok[KIND]
        if kind is K.SCOPE:
            return self._scope(None, _Ctx.PATTERN)
        if kind is K.CHECK:
            return self._check(None)
        if kind is K.REF or kind is K.CONNECTION_POINT:
            return self._ref(None, _Ctx.PATTERN)
        if kind is K.CONNECTION:
            self.pos += 1
            has_to = toks[self.pos][KIND] is K.TO
            if has_to:
                self.pos += 1
            parts = [self._name("for the connection target")[TEXT]]
            wildcard = False
            while toks[self.pos][KIND] is K.DOT:
                self.pos += 1
                if toks[self.pos][KIND] is K.STAR:
                    self.pos += 1
                    wildcard = True
                    break
                parts.append(self._name("or `*` after `.` in the connection target")[TEXT])
            span = self._since(tok)
            self._end("the connection pattern")
            return ConnectionReq(has_to, tuple(parts), wildcard, span)
        if kind is K.IMPLEMENTS or kind is K.LANGUAGE:
            self.pos += 1
            name = self._name(f"after `{tok[TEXT]}`")[TEXT]
            span = self._since(tok)
            self._end(f"`{tok[TEXT]} {name}`")
            return ImplementsReq(name, span) if kind is K.IMPLEMENTS else LanguageReq(name, span)
        if kind is K.ELEMENT:
            return self._element_requirement()
        raise self._fail(
            "E011",
            f"expected what `{kw[TEXT]}` applies to, found {describe(tok)}",
            tok,
            help="one of `scope`, `ref`, `connection_point`, `check`, `connection [to] a.b`, `implements P`, "
            "`language L` or `element name`",
        )

    def _element_requirement(self) -> ElementReq:
        kw = self._advance()
        name = self._name("for the required element name")
        toks = self.toks
        type_name: str | None = None
        if (
            toks[self.pos][KIND] is K.COLON
            and toks[self.pos + 1][KIND] in NAME_KINDS
            and (toks[self.pos + 2][KIND] in _AFTER_TYPE)
        ):
            type_name = toks[self.pos + 1][TEXT]
            self.pos += 2
        implements: str | None = None
        if toks[self.pos][KIND] is K.IMPLEMENTS:
            self.pos += 1
            implements = self._name("after `implements`")[TEXT]
        items: list[ElementItem] = []
        kind = toks[self.pos][KIND]
        # Upstream takes only an indented body here: `requires element x {` is an E008 at the `{` (oracle).
        if kind is K.COLON:
            self.nesting += 1
            try:
                if self.nesting > MAX_NESTING:
                    raise self._fail("E010", f"elements nested more than {MAX_NESTING} levels deep", name)
                items, _ = self._block(f"element `{name[TEXT]}`", partial(self._member, ctx=_Ctx.NESTED))
            finally:
                self.nesting -= 1
            return ElementReq(name[TEXT], type_name, implements, items, self._since(kw))
        span = self._since(kw)
        self._end(f"the required element `{name[TEXT]}`")
        return ElementReq(name[TEXT], type_name, implements, items, span)

    # ------------------------------------------------------------ expressions

    def _expr(self) -> Expr:
        # The hottest function of the parser: the position lives in a local (written back before any call
        # that reads it, and before raising, so recovery sees the same position) and spans are built inline.
        toks = self.toks
        file = self.file
        pos = self.pos
        tok = toks[pos]
        kind = tok[KIND]
        node: Expr
        if kind is K.LBRACKET:
            node = self._list()
            pos = self.pos
        else:
            span = _new(Span, (file, tok[LINE], tok[COLUMN], tok[LINE], tok[END_COLUMN]))
            if kind is K.IDENT:
                node = Identifier(tok[TEXT], span)
            elif kind is K.STRING:
                node = StringLit(str(tok[VALUE]), span)
            elif kind is K.NUMBER:
                value = tok[VALUE]
                assert isinstance(value, (int, float))
                node = NumberLit(value, tok[TEXT], span)
            elif kind is K.TRUE or kind is K.FALSE:
                node = BoolLit(kind is K.TRUE, span)
            elif kind in NAME_KINDS:
                node = Identifier(tok[TEXT], span)
            else:
                raise self._fail("E003", f"expected an expression, found {describe(tok)}", tok)
            pos += 1
        while True:
            kind = toks[pos][KIND]
            if kind is K.DOT:
                member = toks[pos + 1]
                if member[KIND] not in NAME_KINDS:
                    self.pos = pos + 1
                    if isinstance(node, NumberLit):
                        raise self._fail(
                            "E006",
                            f"expected a number: `{node.text}.` is not a valid number",
                            node.span,
                            help="numbers are written `10` or `2.5`",
                        )
                    raise self._fail(
                        "E004", f"expected an identifier after `.`, found {describe(member)}", member
                    )
                pos += 2
                start = node.span
                node = MemberAccess(
                    node,
                    member[TEXT],
                    _new(Span, (file, start.line, start.column, member[LINE], member[END_COLUMN])),
                )
            elif kind is K.LPAREN:
                self.pos = pos
                node = self._call(node)
                pos = self.pos
            else:
                self.pos = pos
                return node

    def _join(self, start: Span, end: RawToken) -> Span:
        return _new(Span, (self.file, start.line, start.column, end[LINE], end[END_COLUMN]))

    def _enter(self, tok: RawToken) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self._fail("E010", f"expression nested more than {MAX_NESTING} levels deep", tok)

    def _call(self, callee: Expr) -> Call:
        toks = self.toks
        self._enter(toks[self.pos])
        self.pos += 1
        args: list[Expr] = []
        if toks[self.pos][KIND] is not K.RPAREN:
            args.append(self._expr())
            while toks[self.pos][KIND] is K.COMMA:
                self.pos += 1
                if toks[self.pos][KIND] is K.RPAREN:
                    raise self._fail(
                        "E003",
                        "expected an expression after `,`, found `)`",
                        toks[self.pos],
                        help="trailing commas are not allowed in call arguments",
                    )
                args.append(self._expr())
        close = toks[self.pos]
        if close[KIND] is not K.RPAREN:
            self._expect(K.RPAREN, "to close the call arguments")  # raises the E007
        self.pos += 1
        self.depth -= 1
        start = callee.span
        return Call(
            callee,
            tuple(args),
            _new(Span, (self.file, start.line, start.column, close[LINE], close[END_COLUMN])),
        )

    def _list(self) -> ListLit:
        toks = self.toks
        opener = toks[self.pos]
        self._enter(opener)
        self.pos += 1
        items: list[Expr] = []
        while toks[self.pos][KIND] is not K.RBRACKET:
            items.append(self._expr())
            if toks[self.pos][KIND] is not K.COMMA:
                break
            self.pos += 1
        close = self._expect(K.RBRACKET, "to close the list")
        self.depth -= 1
        return ListLit(tuple(items), self._join(self._span(opener), close))


def parse(source: str, file: str) -> tuple[Program, list[Diagnostic]]:
    """Parse one file. Never raises: every problem, lexical or syntactic, is a diagnostic (sorted by place)."""
    with gc_paused():
        tokens, diags = scan(source, file)
        parser = _Parser(tokens, file, diags)
        try:
            program = parser.program()
        except RecursionError:
            # Belt and braces: MAX_NESTING should stop recursion long before Python's limit.
            diags.append(error("E010", "spec nested too deeply to parse", Span.point(file, 1, 1)))
            program = Program(file)
        # Drop the token list while the collector is still paused: its first pass afterwards would otherwise
        # traverse every token tuple only to find them about to die.
        del tokens, parser
    diags.sort(key=lambda d: (d.line, d.column))
    return program, diags
