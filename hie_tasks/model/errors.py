"""The one error type a library raises; the interpreter turns it into a diagnostic or an Error verdict."""

from __future__ import annotations


class LibraryError(Exception):
    """A library-level failure with an upstream-style code (`E100`, `E508`, `E-32000`, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
