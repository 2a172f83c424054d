"""A small `.gitignore` matcher: enough of git's rules for deciding which file events watch mode may drop.

Supported: comments and blank lines, `\\#` / `\\!` escapes, trailing-space trimming, `!` negation (last
matching rule wins), trailing `/` (directories only), anchoring by a leading or inner `/`, `*`, `?`, `[...]`
and `**` (leading `**/`, trailing `/**`, inner `/**/`). As in git, a file below an excluded directory stays
excluded even if a later `!` rule names the file, because git never looks inside the directory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

GITIGNORE = ".gitignore"


@dataclass(frozen=True)
class IgnoreRule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


def _class_end(pattern: str, start: int) -> int:
    """Index just past the `]` closing the bracket expression opened at `start`, or -1 if it never closes."""
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 1
    return i + 1 if i < len(pattern) else -1


def _translate(pattern: str) -> str:
    """Regex body for a slash-separated glob where `*`/`?`/`[...]` stay within one component."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
            continue
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = _class_end(pattern, i)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : end - 1]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def parse_rule(line: str) -> IgnoreRule | None:
    """One `.gitignore` line as a rule, or None for blanks and comments."""
    line = line.rstrip("\n\r")
    # Trailing spaces are insignificant unless escaped with a backslash.
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "
    line = stripped
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated or line.startswith(("\\!", "\\#")):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    body = _translate(line)
    # An unanchored pattern matches a name at any depth; an anchored one only from the .gitignore's directory.
    prefix = "" if anchored else "(?:.*/)?"
    return IgnoreRule(re.compile(f"^{prefix}{body}$"), negated, dir_only)


class GitIgnore:
    """The rules of one `.gitignore`, matching paths relative to the directory holding it."""

    def __init__(self, rules: list[IgnoreRule]) -> None:
        self.rules = rules

    @classmethod
    def parse(cls, text: str) -> GitIgnore:
        return cls([rule for rule in map(parse_rule, text.splitlines()) if rule is not None])

    @classmethod
    def load(cls, directory: str) -> GitIgnore:
        """The directory's `.gitignore`; no file (or an unreadable one) ignores nothing."""
        return cls.load_file(os.path.join(directory, GITIGNORE))

    @classmethod
    def load_file(cls, path: str) -> GitIgnore:
        """Rules from a file in `.gitignore` syntax (also `.git/info/exclude`); a missing one ignores nothing."""
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return cls.parse(fh.read())
        except OSError:
            return cls([])

    def match(self, rel: str, is_dir: bool) -> bool | None:
        """The verdict of the last rule matching `rel` itself (True = ignored), None when none matches.

        Parent directories are not consulted: callers combining several files decide those first.
        """
        for rule in reversed(self.rules):
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(rel):
                return not rule.negated
        return None

    def _verdict(self, rel: str, is_dir: bool) -> bool:
        return self.match(rel, is_dir) is True

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        """Whether `rel` (slash-separated, relative to the .gitignore's directory) is ignored."""
        rel = rel.strip("/")
        if not rel or not self.rules:
            return False
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if self._verdict("/".join(parts[:depth]), True):
                return True
        return self._verdict(rel, is_dir)
