"""Glob matching with the semantics of Rust's `glob` crate (default `MatchOptions`), which upstream uses.

Differences from Python's `glob` that decide verdicts: `*`, `?` and `[...]` also match a leading `.`, so
hidden files and folders are included; `[!abc]` negates; `**` must be a whole path component and matches
zero or more directories; `***`, `a**`, `**b` and an unclosed `[` are errors; matching is case-sensitive.

The pattern is matched relative to a *base directory* that is taken literally. Upstream formats
`<base>/<pattern>` and globs the whole string, so a `[` in the checkout location broke every glob; here only
the user's pattern is interpreted. Everything else mirrors the crate's traversal (`fill_todo` and the
iterator), including that literal components are probed without listing the directory, that `.` / `..`
are reachable only through a component starting with a literal `.`, and that a trailing `/` asks for
directories only.

One deliberate difference: `**` never descends through a symlinked directory. The crate follows them, which
never terminates on a symlink cycle; a symlinked directory named by a literal or a single-component
wildcard is still entered, so only walks through link cycles change.
"""

from __future__ import annotations

import os

from hie_tasks.libraries.builtin.walk import TOOL_DIRS
from hie_tasks.model.record import FrozenRecord

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import re

_RECURSIVE_ERROR = "recursive wildcards must form a single path component"
_WILDCARD_ERROR = "wildcards are either regular `*` or recursive `**`"
_RANGE_ERROR = "invalid range pattern"


class GlobPatternError(ValueError):
    """The pattern does not compile (the crate's `PatternError`)."""


class _Component(FrozenRecord):
    """One `/`-separated piece of a pattern."""

    __slots__ = ("literal", "regex", "recursive", "leading_dot")

    #: The text when it has no metacharacters: probed directly instead of listing the directory.
    literal: str | None
    #: None for a literal, which matches exactly its own text (compiling one regex per literal component
    #: was most of the cost of a `pkg/docs/*.md` selector).
    regex: re.Pattern[str] | None
    recursive: bool
    leading_dot: bool

    def __init__(self, literal: str | None, regex: re.Pattern[str] | None, recursive: bool, leading_dot: bool) -> None:
        self.literal = literal
        self.regex = regex
        self.recursive = recursive
        self.leading_dot = leading_dot

    def matches(self, name: str) -> bool:
        if self.regex is None:
            return name == self.literal
        return self.regex.fullmatch(name) is not None


def _char_class(spec: str, negated: bool) -> str:
    """Regex for the crate's `AnyWithin` / `AnyExcept` over `spec` (`a-z` ranges, else single chars)."""
    import re

    items: list[str] = []
    i = 0
    while i < len(spec):
        if i + 3 <= len(spec) and spec[i + 1] == "-":
            low, high = spec[i], spec[i + 2]
            # The crate tests `low <= c <= high`, so a reversed range matches nothing (Python would reject it).
            if low <= high:
                items.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            items.append(re.escape(spec[i]))
            i += 1
    if not items:
        return "." if negated else "(?!)"
    return ("[^" if negated else "[") + "".join(items) + "]"


def _compile_component(text: str) -> _Component:
    if "*" not in text and "?" not in text and "[" not in text:
        # A literal: no regex, nor the import of `re` (with `enum`, ~2.5 ms), for `m000.py` or `src`.
        return _Component(literal=text, regex=None, recursive=False, leading_dot=text.startswith("."))
    import re

    parts: list[str] = []
    literal = True
    recursive = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "?":
            parts.append(".")
            literal = False
            i += 1
        elif c == "*":
            start = i
            while i < n and text[i] == "*":
                i += 1
            count = i - start
            if count > 2:
                raise GlobPatternError(_WILDCARD_ERROR)
            if count == 2:
                if start != 0 or i != n:
                    raise GlobPatternError(_RECURSIVE_ERROR)
                recursive = True
            parts.append(".*")
            literal = False
        elif c == "[":
            close = -1
            negated = False
            if i + 4 <= n and text[i + 1] == "!":
                close = text.find("]", i + 3)
                negated = True
                spec_start = i + 2
            elif i + 3 <= n and text[i + 1] != "!":
                close = text.find("]", i + 2)
                spec_start = i + 1
            if close == -1:
                raise GlobPatternError(_RANGE_ERROR)
            parts.append(_char_class(text[spec_start:close], negated))
            literal = False
            i = close + 1
        else:
            parts.append(re.escape(c))
            i += 1
    return _Component(
        literal=text if literal else None,
        regex=None if literal else re.compile("".join(parts), re.DOTALL),
        recursive=recursive,
        leading_dot=text.startswith("."),
    )


def _split(pattern: str) -> list[str]:
    """Rust's `split_terminator('/')`: a trailing separator does not start an empty component."""
    pieces = pattern.split("/")
    if pieces[-1] == "":
        pieces.pop()
    return pieces


def validate(pattern: str) -> None:
    """Raise `GlobPatternError` if `pattern` does not compile."""
    for piece in _split(pattern):
        _compile_component(piece)


def literal_directory(base: str, pattern: str) -> str:
    """The deepest directory the pattern names literally (where its matches can appear), normalised.

    Used to record the listing a glob depends on: nothing outside this directory can change the answer.
    """
    pieces = _split(pattern)
    prefix: list[str] = []
    for piece in pieces[:-1]:
        if any(c in piece for c in "*?["):
            break
        prefix.append(piece)
    return os.path.normpath(os.path.join(base, *prefix))


# Marks a todo entry that already matched the last component (the crate's `usize::MAX`).
_DONE = -1


class _Walk:
    """The crate's `Paths` iterator, collected eagerly."""

    def __init__(self, components: list[_Component], require_dir: bool) -> None:
        self.components = components
        self.require_dir = require_dir
        self.todo: list[tuple[str, bool, bool, int]] = []  # path, is_dir (followed), is_symlink, index

    def fill(self, index: int, path: str, is_dir: bool) -> None:
        component = self.components[index]
        if component.literal is not None:
            name = component.literal
            candidate = os.path.join(path, name)
            present = is_dir if name in (".", "..") else os.path.lexists(candidate)
            if present:
                self._add(index, candidate)
            return
        if not is_dir:
            return
        try:
            with os.scandir(path) as listing:
                entries = list(listing)
        except (OSError, ValueError):
            return  # The crate yields an error item here, which every caller skips.
        # The crate sorts descending and pops from the end, i.e. visits in ascending name order.
        entries.sort(key=lambda e: e.name, reverse=True)
        for entry in entries:
            if entry.name in TOOL_DIRS:
                continue
            try:
                link = entry.is_symlink()
                entry_is_dir = entry.is_dir()
            except OSError:
                link, entry_is_dir = False, False
            self.todo.append((entry.path, entry_is_dir, link, index))
        if component.leading_dot:
            for special in (".", ".."):
                if component.matches(special):
                    self._add(index, os.path.join(path, special))

    def _add(self, index: int, path: str) -> None:
        is_dir = os.path.isdir(path)
        if index + 1 == len(self.components):
            self.todo.append((path, is_dir, False, _DONE))
        else:
            self.fill(index + 1, path, is_dir)

    def run(self, base: str) -> list[str]:
        results: list[str] = []
        components = self.components
        last = len(components) - 1
        self.fill(0, base, os.path.isdir(base))
        while self.todo:
            path, is_dir, link, index = self.todo.pop()
            if index == _DONE:
                if not self.require_dir or is_dir:
                    results.append(path)
                continue
            if components[index].recursive:
                following = index
                while following < last and components[following + 1].recursive:
                    following += 1
                if is_dir and not link:
                    self.fill(following, path, is_dir)
                    if following == last:
                        results.append(path)
                        continue
                    index = following + 1
                elif following == last:
                    results.append(path)
                    continue
                else:
                    index = following + 1
            name = os.path.basename(path)
            if not _is_utf8(name):
                continue  # The crate skips names that are not UTF-8.
            if components[index].matches(name):
                if index == last:
                    if not self.require_dir or is_dir:
                        results.append(path)
                else:
                    self.fill(index + 1, path, is_dir)
        return results


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def glob(base: str, pattern: str) -> list[str]:
    """Every path (file or directory) matching `pattern` below the literal directory `base`.

    Results come in the crate's order and may repeat (e.g. `**/a/**/b`), because `no_files_matching`
    reports upstream's count; callers that build a Scope sort and de-duplicate. Raises `GlobPatternError`.
    """
    components = [_compile_component(piece) for piece in _split(pattern)]
    # Upstream's full pattern is `<base>/<pattern>`, so an empty pattern ends in `/`: directories only.
    require_dir = pattern == "" or pattern.endswith("/")
    if not components:
        return [base] if os.path.isdir(base) else []
    return _Walk(components, require_dir).run(base)
