"""A language's source files as the python and rust libraries see them, with inputs recorded.

Both libraries select files by walking the workspace for one extension and testing each file's whole text,
and check scopes by testing the texts of the scope's paths in order. These helpers do that once, and tell
the `CallContext` which listing and which files decided the answer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.builtin.library import MAX_LOCATIONS
from hie_tasks.libraries.builtin.sourcecache import SOURCES
from hie_tasks.libraries.builtin.text import read_recorded
from hie_tasks.libraries.builtin.walk import WalkRules, relative_path
from hie_tasks.model.values import CheckResult, Location, Scope, ScopeKind

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import re
    from typing import Protocol

    class Finder(Protocol):
        """What `match_locations` searches with (a compiled pattern); only annotations name it."""

        def finditer(self, text: str) -> Iterator[re.Match[str]]: ...



def source_paths(ctx: CallContext, rules: WalkRules, root: str | None = None) -> list[str]:
    """The sorted source files below `root` (default: the workspace), recording the listing. The list is
    shared by every call of the run: do not mutate it."""
    base = ctx.workspace if root is None else root
    suffixes = () if rules.extension is None else ("." + rules.extension,)
    ctx.record_tree(base, suffixes, rules.exclude)
    return SOURCES.walk(base, rules)


def texts(ctx: CallContext, paths: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(path, text) for each readable path in order; unreadable or non-UTF-8 files are skipped silently."""
    for path in paths:
        text = read_recorded(ctx, path)
        if text is not None:
            yield path, text


def files_whose_text(ctx: CallContext, rules: WalkRules, test: Callable[[str], bool]) -> list[str]:
    """Every workspace source file whose whole text passes `test`."""
    return [path for path, text in texts(ctx, source_paths(ctx, rules)) if test(text)]


def text_selector(ctx: CallContext, rules: WalkRules, kind_text: str, test: Callable[[str], bool]) -> Scope:
    return Scope(ScopeKind.file(kind_text), tuple(files_whose_text(ctx, rules, test)))


def any_text(ctx: CallContext, paths: Sequence[str], test: Callable[[str], bool]) -> bool:
    """Whether some readable file passes `test`; stops at the first one (later files cannot flip it)."""
    return any(test(text) for _, text in texts(ctx, paths))


def scope_check(ctx: CallContext, scope: Scope, test: Callable[[str], bool], failure: str) -> CheckResult:
    """Pass at the first file of the scope whose text passes `test`; otherwise (empty scope too) Fail."""
    return CheckResult.passed() if any_text(ctx, scope.paths, test) else CheckResult.failed(failure)


def stem_module_paths(
    ctx: CallContext, rules: WalkRules, last: str, package_stem: str, extra: Callable[[str], bool]
) -> list[str]:
    """Paths for a module selector: a file whose stem is `last`, or whose stem is `package_stem`
    (`__init__` / `mod`) and whose workspace-relative path contains `last`; `extra` filters further.

    Upstream tested the *full* path text, so a checkout location containing the name (`/home/u/api/...`)
    matched every package file; the relative path is tested instead (spec: do not copy).
    """
    found: list[str] = []
    strip = len(rules.extension or "") + 1
    for path in source_paths(ctx, rules):
        stem = os.path.basename(path)[:-strip]
        relative = relative_path(ctx.workspace, path)
        if (stem == last or (stem == package_stem and last in relative)) and extra(relative):
            found.append(path)
    return found


def match_locations(ctx: CallContext, paths: Sequence[str], regex: Finder) -> tuple[Location, ...]:
    """Where `regex` matches in the files of `paths` (file and 1-based line of each match's start), so a
    failure can name the offending source. Only called once a check has failed, never on the passing path."""
    found: list[Location] = []
    for path, text in texts(ctx, paths):
        for match in regex.finditer(text):
            found.append(Location(path, text.count("\n", 0, match.start()) + 1))
            if len(found) >= MAX_LOCATIONS:
                return tuple(found)
    return tuple(found)
