"""Reading source files and the Rust-flavoured text primitives the python/rust checks are defined with.

The upstream libraries are specified in terms of Rust's `str::lines`, `trim` and the `regex` crate, whose
notions of "line" and "whitespace" differ from Python's in corner cases (`\\v`, `\\x1c`, `\\u2028`, ...).
These helpers pin the Rust meaning down so verdicts do not depend on those differences.
"""

from __future__ import annotations

import os
import stat

from hie_tasks.libraries.base import CallContext

#: Unicode `White_Space`, which is what the Rust `regex` crate's `\s` and `str::trim` use. Python's `\s`
#: and `str.strip()` also treat `\x1c`-`\x1f` as whitespace.
WHITESPACE_CHARS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
#: Regex fragment standing in for Rust's `\s`.
WS = "[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_text(path: str) -> str | None:
    """The whole file as strict UTF-8 with no newline translation, or None if it cannot be read.

    Only regular files are read: the python/rust walks list every non-directory, and a FIFO named `x.py`
    would otherwise block the run (opening with O_NONBLOCK and checking fstat avoids that).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        chunks: list[bytes] = []
        # One read of the whole file in the common case; the loop covers files that grow meanwhile.
        size = info.st_size + 1
        while True:
            chunk = os.read(fd, size)
            if not chunk:
                break
            chunks.append(chunk)
            if len(chunk) < size:
                break  # A short read of a regular file is its end.
            size = 1 << 20
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_recorded(ctx: CallContext, path: str) -> str | None:
    """`read_text` that also tells the incremental engine the answer depends on this file."""
    ctx.record_dep(path)
    return read_text(path)


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
