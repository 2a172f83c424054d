"""Text → tokens, with Python-style INDENT/DEDENT layout tokens.

One compiled regex splits the whole source with `findall` into pieces that cover every character: a blank run,
or exactly one token class. Offsets come from a running sum of piece lengths (`accumulate`, in C), and the
Python loop only classifies each piece: a dict lookup settles keywords and punctuation, the first character
the rest. Tokens are plain tuples (`RawToken`). This keeps per-character work in C and per-token work to a few
bytecodes, which matters because every run and every watch cycle re-lexes the spec.

Layout: a line-break piece swallows any following blank lines and the indentation of the next non-blank line
(space = 1, tab = 4). Lines holding only a comment (`#` or `##`) still count as non-blank, so they adjust the
indent stack like code lines do, exactly as upstream's lexer: a deeper comment line opens a block, a shallower
one closes blocks. A dedent to a width never opened closes blocks and opens none. At end of input a final NEWLINE and one DEDENT per open level are
emitted, so the parser always sees a balanced stream.

Diagnostics of our own (upstream has no lexer diagnostics):
- W002 (warning): characters that cannot start any token; they are skipped, as upstream does silently.
- W005 (warning): a string literal never closed. As upstream, it swallows the rest of the file, so the parser
  then reports the error (usually "expected an expression, found end of file") — the warning says why.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from itertools import accumulate

from hie_tasks.diagnostics import Diagnostic, Span, warning
from hie_tasks.lang.tokens import KEYWORDS, PUNCTUATION, RawToken, Token, TokenKind

# As upstream: a string may span lines. Upstream's lexer takes the longest match and, on a tie, the block
# comment; a doc comment runs to the line break (a CR included). So `### x ###` is a block comment only when
# it spans lines or ends its line exactly; `### x ### more` or `### x ###` before a CRLF is a doc comment.
_STRING_SRC = r"\"(?:[^\"\\]|\\[\s\S])*\"|'(?:[^'\\]|\\[\s\S])*'"
_BLOCK_SRC = r"\#\#\#(?:[^#\n]*\#\#\#(?=\n|\Z)|[^#\n]*\n[^#]*\#\#\#)"

# Alternatives are tried in order, so a block comment wins over a doc comment, which wins over a comment, and a
# closed string over an unterminated one. No alternative matches the empty string, so the pieces tile the input.
_PIECES = re.compile(
    "|".join(
        (
            r"[ \t\r]+",  # blanks
            r"[A-Za-z_][A-Za-z0-9_]*",  # identifier or keyword
            r"[:=.,()\[\]{}<>*]",  # punctuation
            r"(?:\n[ \t\r]*)+",  # line break(s) + next indentation
            _STRING_SRC,  # string
            r"[0-9]+(?:\.[0-9]+)?",  # number
            _BLOCK_SRC,  # block comment (may span lines)
            r"\#\#[^\r\n]*",  # doc comment
            r"\#[^\r\n]*",  # comment
            r"[\"'][\s\S]*",  # unterminated string: upstream's lexer swallows the rest of the file
            r"[^ \t\r\nA-Za-z0-9_\"'\#:=.,()\[\]{}<>*]+",  # characters that start no token
        )
    )
)
# Tell which alternative matched a piece that starts with a quote (closed or not) or with `###`.
_STRING = re.compile(_STRING_SRC)
_BLOCK = re.compile(_BLOCK_SRC)

#: Pieces whose whole text decides the kind.
_FIXED: dict[str, TokenKind] = {**KEYWORDS, **PUNCTUATION}

# What the first character of any other piece says it is; anything unlisted starts no token.
_BLANK, _WORD, _BREAK, _QUOTE, _DIGIT, _HASH, _JUNK = range(7)
_FIRST: dict[str, int] = {
    **dict.fromkeys(" \t\r", _BLANK),
    **dict.fromkeys("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_", _WORD),
    "\n": _BREAK,
    **dict.fromkeys("\"'", _QUOTE),
    **dict.fromkeys("0123456789", _DIGIT),
    "#": _HASH,
}

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


@lru_cache(maxsize=256)
def _line_break(text: str) -> tuple[int, int, int]:
    """(line breaks, length of the final indentation, its width) of a line-break piece.

    Cached because a spec repeats a handful of indentation levels over and over.
    """
    indent = text[text.rfind("\n") + 1 :]
    return text.count("\n"), len(indent), _indent_width(indent)


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
        raw, diags = scan(source, file)
        return [Token._make(t) for t in raw], diags


def scan(source: str, file: str) -> tuple[list[RawToken], list[Diagnostic]]:
    """`tokenize` with plain-tuple tokens, as the parser consumes them. Never raises."""
    if source.startswith("\ufeff"):
        source = source[1:]
    tokens: list[RawToken] = []
    diags: list[Diagnostic] = []
    append = tokens.append
    # Piece text → kind for pieces whose text alone decides it: keywords and punctuation, plus each identifier
    # once seen, so repeated names (most of them) skip the first-character dispatch below.
    known = dict(_FIXED)
    fixed = known.get
    first_char = _FIRST.get
    NEWLINE, INDENT, DEDENT = TokenKind.NEWLINE, TokenKind.INDENT, TokenKind.DEDENT
    IDENT = TokenKind.IDENT
    n = len(source)

    line = 1
    base = -1  # offset of the current line's first character, minus one: a column is `offset - base`
    stack = [0]
    # True when the last token emitted is a layout token (or none yet): a line break then adds no NEWLINE.
    after_layout = True

    def layout(width: int, col: int) -> bool:
        """Adjust the indent stack for a new line; returns whether a layout token was emitted."""
        if width > stack[-1]:
            stack.append(width)
            append((INDENT, "", None, line, col, col))
            return True
        emitted = False
        while width < stack[-1]:
            stack.pop()
            append((DEDENT, "", None, line, col, col))
            emitted = True
        # A dedent to a level never opened (upstream): nothing more is emitted and the level is not
        # pushed, so the next line at this same width opens a block.
        return emitted

    pieces: list[str] = _PIECES.findall(source)
    if len(pieces) > 1 and first_char(pieces[0][0]) == _BLANK and pieces[1][0] != "\n":
        # The first line's indentation is not preceded by a line break, so measure it here.
        layout(_indent_width(pieces[0]), len(pieces[0]) + 1)

    # `pos` is each piece's offset. Branches are ordered by how often each class occurs in real specs.
    # `accumulate` yields one offset more than there are pieces, hence strict=False.
    for text, pos in zip(pieces, accumulate(map(len, pieces), initial=0), strict=False):
        kind = fixed(text)
        if kind is not None:
            col = pos - base
            append((kind, text, None, line, col, col + len(text)))
            after_layout = False
            continue
        cls = first_char(text[0], _JUNK)
        if cls == _BLANK:
            continue
        col = pos - base
        if cls == _WORD:
            known[text] = IDENT
            append((IDENT, text, None, line, col, col + len(text)))
            after_layout = False
        elif cls == _BREAK:
            if not after_layout:
                append((NEWLINE, "", None, line, col, col + 1))
                after_layout = True
            breaks, indent_len, width = _line_break(text)
            line += breaks
            end = pos + len(text)
            base = end - indent_len - 1
            if width != stack[-1] and end < n and layout(width, indent_len + 1):
                after_layout = True
        elif cls == _QUOTE:
            if _STRING.fullmatch(text):
                body = text[1:-1]
                value = _ESCAPE.sub(_unescape_one, body) if "\\" in body else body
                append((TokenKind.STRING, text, value, line, col, col + len(text)))
                after_layout = False
                if "\n" in text:
                    # A string spanning lines: later tokens get their true line (upstream undercounts).
                    line += text.count("\n")
                    base = pos + text.rfind("\n")
            else:
                shown = text.split("\n", 1)[0].rstrip()
                diags.append(
                    warning(
                        "W005",
                        f"unterminated string literal: no closing {shown[0]} before the end of the file",
                        Span(file, line, col, line, col + len(shown)),
                        help=f"close the string with {shown[0]}; the rest of the file was read as part of it",
                    )
                )
        elif cls == _DIGIT:
            append((TokenKind.NUMBER, text, _number_value(text), line, col, col + len(text)))
            after_layout = False
        elif cls == _HASH:
            if not text.startswith("##"):
                continue  # a comment
            block = _BLOCK.match(source, pos) if text.startswith("###") else None
            if block is not None and block.end() == pos + len(text):  # in context: the lookahead matters
                breaks = text.count("\n")
                if breaks:
                    line += breaks
                    base = pos + text.rfind("\n")
            else:
                append((TokenKind.DOC, text, text.lstrip("#").strip(), line, col, col + len(text)))
                after_layout = False
        else:
            diags.append(
                warning(
                    "W002",
                    f"ignored character(s) {text!r}: they cannot start any token",
                    Span(file, line, col, line, col + len(text)),
                    help="remove them; identifiers are ASCII letters, digits and `_`",
                )
            )

    end_col = n - base
    if not after_layout:
        append((NEWLINE, "", None, line, end_col, end_col + 1))
    for _ in range(len(stack) - 1):
        append((DEDENT, "", None, line, end_col, end_col))
    append((TokenKind.EOF, "", None, line, end_col, end_col))
    return tokens, diags
