"""Loading a spec that spans several `.hie` files.

Rule: a *string* import (`import './specs/core.hie'`, `import "specs/core"`) that names an existing `.hie` file —
resolved relative to the directory of the file containing the import, tried as written and then with `.hie`
appended — pulls that file into the same spec set. Imported files are loaded recursively, each file once (so
import cycles are harmless), and ordered depth-first with every imported file *before* the file importing it;
the entry file therefore comes last. A string import that names no `.hie` file only warns (W004), because
upstream accepts such files. Identifier imports (`import files`) name libraries, never files.

`path` may also be a directory: each `*.hie` file directly inside it (sorted, not recursive) is an entry file.

Diagnostics of our own:
- W004 (warning): a string import resolves to no `.hie` file (the message lists the paths tried).
- E017 (error): an imported `.hie` file exists but cannot be read or is not UTF-8.
An unreadable *entry* file is not a diagnostic but `SpecReadError`, which the CLI maps to exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from hie_tasks.diagnostics import Diagnostic, error, warning
from hie_tasks.lang.ast import Import, Program
from hie_tasks.lang.validate import pattern_names, validate

SPEC_SUFFIX = ".hie"


class SpecReadError(Exception):
    """An entry spec file (or directory) that cannot be read at all."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read {path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class SpecSet:
    #: (program, source text) per file, imported files before their importers, entry files last.
    files: list[tuple[Program, str]] = field(default_factory=list)
    #: every diagnostic, grouped by file in `files` order, by position within a file
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: file name (as used in spans) → source text, for rendering carets
    sources: dict[str, str] = field(default_factory=dict)
    #: the entry file names, in the order given
    entries: list[str] = field(default_factory=list)
    #: what later stages derived from the programs alone, by their key (`cli.loading.resolve_spec_calls`'s
    #: findings per catalog set): kept with a cached spec, so a run that reuses the spec need not parse it
    derived: dict[str, list[Diagnostic]] = field(default_factory=dict)

    @property
    def programs(self) -> list[Program]:
        return [program for program, _ in self.files]

    def file_names(self) -> list[str]:
        """The files' names (as in spans), in `files` order."""
        return [program.file for program, _ in self.files]

    def library_imports(self) -> set[str]:
        """The libraries the spec imports (`import files`), not the spec files."""
        return {i.path[0] for program, _ in self.files for i in program.imports if not i.is_string}

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def read_source(path: str) -> str:
    """The text of a spec file; raises SpecReadError with a reason a user can act on."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except IsADirectoryError:
        raise SpecReadError(path, "is a directory") from None
    except OSError as exc:
        raise SpecReadError(path, exc.strerror or str(exc)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecReadError(path, f"not valid UTF-8 (bad byte at offset {exc.start})") from None


def resolve_import(importer: str, target: str) -> tuple[str | None, list[str]]:
    """The `.hie` file a string import names, relative to `importer`'s directory, and the paths tried."""
    base = os.path.normpath(os.path.join(os.path.dirname(importer), target))
    tried = [base] if base.endswith(SPEC_SUFFIX) else [base + SPEC_SUFFIX]
    if not base.endswith(SPEC_SUFFIX) and os.path.isfile(base):
        # `import "specs/core"` style: a file named exactly so but not a spec is not what was meant.
        tried.insert(0, base)
    for candidate in tried:
        if candidate.endswith(SPEC_SUFFIX) and os.path.isfile(candidate):
            return candidate, tried
    return None, tried


def _entry_files(path: str) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    try:
        names = sorted(n for n in os.listdir(path) if n.endswith(SPEC_SUFFIX))
    except OSError as exc:
        raise SpecReadError(path, exc.strerror or str(exc)) from None
    files = [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
    if not files:
        raise SpecReadError(path, f"the directory holds no *{SPEC_SUFFIX} files")
    return files


def _string_imports(program: Program) -> Iterator[Import]:
    return (imp for imp in program.imports if imp.is_string)


@dataclass
class _Frame:
    program: Program
    source: str
    pending: Iterator[Import]


def load_spec(path: str, known_libraries: set[str]) -> SpecSet:
    """Parse `path` (a file or a directory of entry files) and every spec file it imports; validate them all."""
    # Imported here: a run that reuses a cached spec (engine/cachedspec.py) never parses, and the parser and
    # lexer are ~35 ms of start-up.
    from hie_tasks.lang.parser import parse

    result = SpecSet(entries=_entry_files(path))
    per_file: dict[str, list[Diagnostic]] = {}
    seen: set[str] = set()

    def open_unit(name: str, source: str) -> _Frame:
        program, diags = parse(source, name)
        per_file[name] = diags
        result.sources[name] = source
        return _Frame(program, source, _string_imports(program))

    for entry in result.entries:
        key = os.path.realpath(entry)
        if key in seen:
            continue  # already pulled in by an earlier entry's imports
        seen.add(key)
        stack = [open_unit(entry, read_source(entry))]
        # Iterative depth-first walk: long import chains must not hit Python's recursion limit.
        while stack:
            frame = stack[-1]
            imp = next(frame.pending, None)
            if imp is None:
                stack.pop()
                result.files.append((frame.program, frame.source))
                continue
            importer = frame.program.file
            target, tried = resolve_import(importer, imp.dotted)
            if target is None:
                per_file[importer].append(
                    warning(
                        "W004",
                        f"import '{imp.dotted}' names no spec file (tried {', '.join(tried)})",
                        imp.span,
                        help="fix the path (relative to this file's directory) or remove the import",
                    )
                )
                continue
            key = os.path.realpath(target)
            if key in seen:
                continue
            seen.add(key)
            try:
                source = read_source(target)
            except SpecReadError as exc:
                per_file[importer].append(
                    error("E017", f"cannot read imported spec {target}: {exc.reason}", imp.span)
                )
                continue
            stack.append(open_unit(target, source))

    patterns = pattern_names(result.programs)
    for program in result.programs:
        diags = per_file[program.file]
        diags.extend(validate(program, known_libraries, patterns))
        diags.sort(key=lambda d: (d.line, d.column))
        result.diagnostics.extend(diags)
    return result
