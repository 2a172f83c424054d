"""Reading source files and the Rust-flavoured text primitives the python/rust checks are defined with.

The upstream libraries are specified in terms of Rust's `str::lines`, `trim` and the `regex` crate, whose
notions of "line" and "whitespace" differ from Python's in corner cases (`\\v`, `\\x1c`, `\\u2028`, ...).
These helpers pin the Rust meaning down so verdicts do not depend on those differences.
"""

from __future__ import annotations

import re

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.builtin.sourcecache import SOURCES

#: Unicode `White_Space`, which is what the Rust `regex` crate's `\s` and `str::trim` use. Python's `\s`
#: and `str.strip()` also treat `\x1c`-`\x1f` as whitespace.
WHITESPACE_CHARS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
#: Regex fragment standing in for Rust's `\s`.
WS = "[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"

def read_recorded(ctx: CallContext, path: str) -> str | None:
    """The whole file as strict UTF-8 with no newline translation (None if it cannot be read, is not a
    regular file or is not UTF-8), telling the incremental engine the answer depends on it. Texts come
    from the process-wide `SOURCES` cache, so every call of a run reads a file at most once."""
    ctx.record_dep(path)
    return SOURCES.text(path)


class BoundedSearch:
    """A regex that starts with `\\b`, searched without the `\\b` in front.

    A leading `\\b` stops `re` from scanning for the literal that follows (measured: 37 ms instead of
    1.4 ms to search 1.2 MB of Python for `\\bdef\\s+`), and the python library's patterns all start with
    one. This searches for the rest and tests the word boundary at each candidate start itself, retrying
    one character later when it fails, which finds exactly the matches of the original pattern: the
    boundary is a property of the start position alone.
    """

    __slots__ = ("_rest",)

    def __init__(self, pattern: str) -> None:
        if not pattern.startswith("\\b"):
            raise ValueError(f"pattern must start with \\b: {pattern!r}")
        self._rest = re.compile(pattern[2:])

    def search(self, text: str) -> bool:
        find = self._rest.search
        pos = 0
        while True:
            match = find(text, pos)
            if match is None:
                return False
            start = match.start()
            if _is_word_at(text, start - 1) != _is_word_at(text, start):
                return True
            pos = start + 1


def _is_word_at(text: str, index: int) -> bool:
    """`re`'s notion of a word character (`str.isalnum()` or `_`) at `index`; outside the text: no."""
    if index < 0 or index >= len(text):
        return False
    char = text[index]
    return char == "_" or char.isalnum()


def rust_lines(text: str) -> list[str]:
    """Rust's `str::lines`: split on `\\n`, drop one trailing `\\r` per piece, no piece after a final `\\n`."""
    pieces = text.split("\n")
    if pieces[-1] == "":
        pieces.pop()
    return [piece[:-1] if piece.endswith("\r") else piece for piece in pieces]


def rust_trim(text: str) -> str:
    return text.strip(WHITESPACE_CHARS)


def rust_trim_end(text: str) -> str:
    return text.rstrip(WHITESPACE_CHARS)
