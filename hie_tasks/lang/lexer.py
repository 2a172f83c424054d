"""Text → tokens, with Python-style INDENT/DEDENT layout tokens.

One compiled master regex is applied to the whole source with `findall`: each match is optional leading
blanks followed by exactly one token class, and every character belongs to some match, so positions are
recovered by summing lengths. The Python loop only dispatches on which group matched; this keeps per-character
work in C, which matters because watch mode re-lexes on every edit.

Layout: a line-break match swallows any following blank lines and captures the indentation of the next
non-blank line (space = 1, tab = 4). Lines holding only a comment still count as non-blank, so they adjust the
indent stack like code lines do (upstream behaviour). At end of input a final NEWLINE and one DEDENT per open
level are emitted, so the parser always sees a balanced stream.

Diagnostics of our own (upstream has no lexer diagnostics):
- W002 (warning): characters that cannot start any token; they are skipped, as upstream does silently.
- E009 (error): a string literal not closed on its line; the rest of the line is skipped.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager

from hie_tasks.diagnostics import Diagnostic, Span, error, warning
from hie_tasks.lang.tokens import KEYWORDS, PUNCTUATION, Token, TokenKind

_MASTER = re.compile(
    r"""([ \t\r]*)
(?:
   ([A-Za-z_][A-Za-z0-9_]*)                                    # identifier or keyword
  |([:=.,()\[\]{}<>*])                                          # punctuation
  |((?:\n[ \t\r]*)+)                                            # line break(s) + next indentation
  |("(?:[^"\\\r\n]|\\[^\r\n])*"|'(?:[^'\\\r\n]|\\[^\r\n])*')    # string
  |([0-9]+(?:\.[0-9]+)?)                                        # number
  |(\#\#\#[^#]*\#\#\#)                                          # block comment (may span lines)
  |(\#\#[^\r\n]*)                                               # doc comment
  |(\#[^\r\n]*)                                                # comment
  |(["'][^\r\n]*)                                               # unterminated string
  |([^ \t\r\nA-Za-z0-9_"'\#:=.,()\[\]{}<>*]+)                   # characters that start no token
  |\Z
)""",
    re.VERBOSE,
)

_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


def _unescape_one(m: re.Match[str]) -> str:
    # Unknown escapes keep their backslash: upstream leaves `\x` as the two characters.
    return _ESCAPES.get(m.group(1), m.group(0))


def _number_value(text: str) -> int | float:
    if "." not in text:
        return int(text)
    value = float(text)
    # A zero fraction makes an Int, as upstream does (`10.0` is the Int 10).
    return int(value) if value.is_integer() else value


def _indent_width(ws: str) -> int:
    ws = ws.replace("\r", "")
    return len(ws) + 3 * ws.count("\t")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building acyclic token lists and ASTs.

    Tens of thousands of fresh objects would otherwise trigger repeated full collections that find nothing;
    pausing roughly halves the time to lex and parse a large spec. Nested use is harmless.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def tokenize(source: str, file: str) -> tuple[list[Token], list[Diagnostic]]:
    """Split `source` into tokens. Never raises; problems become diagnostics."""
    with gc_paused():
        return _tokenize(source, file)


def _tokenize(source: str, file: str) -> tuple[list[Token], list[Diagnostic]]:
    if source.startswith("\ufeff"):
        source = source[1:]
    tokens: list[Token] = []
    diags: list[Diagnostic] = []
    append = tokens.append
    keyword = KEYWORDS.get
    punctuation = PUNCTUATION
    NEWLINE, INDENT, DEDENT = TokenKind.NEWLINE, TokenKind.INDENT, TokenKind.DEDENT
    IDENT, STRING, NUMBER, DOC = TokenKind.IDENT, TokenKind.STRING, TokenKind.NUMBER, TokenKind.DOC
    n = len(source)

    line = 1
    line_start = 0  # offset of the current line's first character
    pos = 0
    stack = [0]
    # True when the last token emitted is a layout token (or none yet): a line break then adds no NEWLINE.
    after_layout = True

    def layout(width: int, col: int) -> bool:
        """Adjust the indent stack for a new line; returns whether a layout token was emitted."""
        if width > stack[-1]:
            stack.append(width)
            append(Token(INDENT, "", None, line, col, col))
            return True
        emitted = False
        while width < stack[-1]:
            stack.pop()
            append(Token(DEDENT, "", None, line, col, col))
            emitted = True
        if width > stack[-1]:
            # Dedent to a level never opened: open it, so the parser reports the odd indentation itself.
            stack.append(width)
            append(Token(INDENT, "", None, line, col, col))
            emitted = True
        return emitted

    matches = _MASTER.findall(source)
    first = matches[0] if matches else None
    if first is not None and first[0] and not first[3] and len(first[0]) < n:
        # The first line's indentation is not preceded by a line break, so measure it here.
        layout(_indent_width(first[0]), len(first[0]) + 1)

    for ws, ident, punct, nl, string, number, block, doc, comment, badstr, junk in matches:
        pos += len(ws)
        if ident:
            col = pos - line_start + 1
            pos += len(ident)
            append(Token(keyword(ident, IDENT), ident, None, line, col, pos - line_start + 1))
            after_layout = False
        elif punct:
            col = pos - line_start + 1
            pos += 1
            append(Token(punctuation[punct], punct, None, line, col, col + 1))
            after_layout = False
        elif nl:
            if not after_layout:
                col = pos - line_start + 1
                append(Token(NEWLINE, "", None, line, col, col + 1))
                after_layout = True
            line += nl.count("\n")
            pos += len(nl)
            indent = nl[nl.rfind("\n") + 1 :]
            line_start = pos - len(indent)
            if pos < n and layout(_indent_width(indent), len(indent) + 1):
                after_layout = True
        elif string:
            col = pos - line_start + 1
            pos += len(string)
            body = string[1:-1]
            value = _ESCAPE.sub(_unescape_one, body) if "\\" in body else body
            append(Token(STRING, string, value, line, col, pos - line_start + 1))
            after_layout = False
        elif number:
            col = pos - line_start + 1
            pos += len(number)
            append(Token(NUMBER, number, _number_value(number), line, col, pos - line_start + 1))
            after_layout = False
        elif comment:
            pos += len(comment)
        elif doc:
            col = pos - line_start + 1
            pos += len(doc)
            append(Token(DOC, doc, doc.lstrip("#").strip(), line, col, pos - line_start + 1))
            after_layout = False
        elif block:
            breaks = block.count("\n")
            if breaks:
                line += breaks
                line_start = pos + block.rfind("\n") + 1
            pos += len(block)
        elif badstr:
            col = pos - line_start + 1
            pos += len(badstr)
            text = badstr.rstrip()
            diags.append(
                error(
                    "E009",
                    f"unterminated string literal: no closing {text[0]} on this line",
                    Span(file, line, col, line, col + len(text)),
                    help=f"close the string with {text[0]}; strings cannot span lines",
                )
            )
        elif junk:
            col = pos - line_start + 1
            pos += len(junk)
            diags.append(
                warning(
                    "W002",
                    f"ignored character(s) {junk!r}: they cannot start any token",
                    Span(file, line, col, line, col + len(junk)),
                    help="remove them; identifiers are ASCII letters, digits and `_`",
                )
            )

    end_col = n - line_start + 1
    if not after_layout:
        append(Token(NEWLINE, "", None, line, end_col, end_col + 1))
    for _ in range(len(stack) - 1):
        append(Token(DEDENT, "", None, line, end_col, end_col))
    append(Token(TokenKind.EOF, "", None, line, end_col, end_col))
    return tokens, diags
