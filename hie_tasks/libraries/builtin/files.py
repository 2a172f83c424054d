"""The built-in `files` library: select files by path, folder or glob, and check existence and size.

Scope paths are absolute (the workspace is resolved once), normalised and sorted, so fingerprints are
deterministic; messages spell paths as upstream does, from the workspace as the user gave it (`pathtext`).
"""

from __future__ import annotations

import os

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.builtin import glob as globbing
from hie_tasks.libraries.builtin.args import integer_arg, scope_arg, string_arg
from hie_tasks.libraries.builtin.library import MAX_LOCATIONS, BuiltinLibrary
from hie_tasks.libraries.builtin.pathtext import PathSpeller, glob_match_text, upstream_order
from hie_tasks.libraries.builtin.walk import TOOL_DIRS, WalkRules, walk_files
from hie_tasks.model.values import CheckResult, Location, Scope, ScopeKind, ScopeKindTag, Value

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hie_tasks.libraries.builtin.library import CheckFn, SelectorFn

#: Everything below a folder: hidden files and `.git` included, symlinks neither followed nor listed.
_FOLDER_RULES = WalkRules(excluded_dirs=TOOL_DIRS, regular_files_only=True)
#: How many matches a `no_files_matching` failure lists.
_SHOWN_MATCHES = 5


def _scope_arg(args: Sequence[Value], fn: str, code: str) -> Scope:
    return scope_arg(args, 0, code, f"{fn} requires a scope as first argument")


def _name_arg(args: Sequence[Value], fn: str, code: str) -> str:
    return string_arg(args, 1, code, f"{fn} requires a filename as second argument")


def _file_selector(args: Sequence[Value], ctx: CallContext) -> Scope:
    rel = string_arg(args, 0, "E100", "file_selector requires a string path argument")
    target = os.path.join(ctx.workspace, rel)
    ctx.record_dep(os.path.normpath(target))
    paths = (os.path.normpath(target),) if os.path.isfile(target) else ()
    return Scope(ScopeKind.file(rel), paths)


def _folder_selector(args: Sequence[Value], ctx: CallContext) -> Scope:
    rel = string_arg(args, 0, "E101", "folder_selector requires a string path argument")
    root = os.path.normpath(os.path.join(ctx.workspace, rel))
    ctx.record_tree(root)
    return Scope(ScopeKind.folder(rel), tuple(walk_files(root, _FOLDER_RULES)))


def _glob_selector(args: Sequence[Value], ctx: CallContext) -> Scope:
    pattern = string_arg(args, 0, "E102", "glob_selector requires a string pattern argument")
    kind = ScopeKind.glob(pattern)
    try:
        matches = globbing.glob(ctx.workspace, pattern)
    except globbing.GlobPatternError:
        # Upstream: a bad pattern selects nothing (no diagnostic); nothing on disk can change that.
        return Scope(kind, ())
    ctx.record_tree(globbing.literal_directory(ctx.workspace, pattern))
    paths = sorted({os.path.normpath(p) for p in matches if os.path.isfile(p)})
    return Scope(kind, tuple(paths))


def _exists(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    scope = _scope_arg(args, "exists", "E110")
    name = _name_arg(args, "exists", "E111")
    text = scope.kind.text
    if scope.kind.tag is ScopeKindTag.GLOB:
        if any(os.path.basename(p) == name for p in scope.paths):
            return CheckResult.passed()
        return CheckResult.failed(f"No file named '{name}' found in scope")
    if scope.kind.tag is ScopeKindTag.FILE:
        # Quirk kept from upstream: a File scope tests its own path and ignores `name` entirely.
        target = os.path.join(ctx.workspace, text)
        failure = f"File '{text}' does not exist"
    else:
        target = os.path.join(ctx.workspace, text, name)
        failure = f"File '{name}' does not exist in folder '{text}'"
    # Recorded even when absent: creating the file later must flip the cached verdict. Normalised so it
    # compares equal to paths a file watcher reports; the probe itself keeps the OS's `..` resolution.
    ctx.record_dep(os.path.normpath(target))
    return CheckResult.passed() if os.path.exists(target) else CheckResult.failed(failure)


def _contains(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    scope = _scope_arg(args, "contains", "E112")
    name = _name_arg(args, "contains", "E113")
    if scope.kind.tag is ScopeKindTag.FOLDER:
        target = os.path.join(ctx.workspace, scope.kind.text, name)
        ctx.record_dep(os.path.normpath(target))
        if os.path.exists(target):
            return CheckResult.passed()
        return CheckResult.failed(f"Folder '{scope.kind.text}' does not contain '{name}'")
    # Quirk kept from upstream: a plain suffix test on the path text, so `main.rs` matches `domain.rs`.
    if any(p.endswith(name) or os.path.basename(p) == name for p in scope.paths):
        return CheckResult.passed()
    return CheckResult.failed(f"Scope does not contain '{name}'")


def _match_base(scope: Scope, workspace: str) -> str:
    if scope.kind.tag is ScopeKindTag.FOLDER:
        return os.path.normpath(os.path.join(workspace, scope.kind.text))
    if scope.kind.tag is ScopeKindTag.FILE:
        return os.path.dirname(os.path.normpath(os.path.join(workspace, scope.kind.text)))
    return workspace


def rust_debug_str(text: str) -> str:
    """A string as Rust's `{:?}` prints it (quoted, `\\` `"` and control characters escaped)."""
    out = ['"']
    for c in text:
        if c in _DEBUG_ESCAPES:
            out.append(_DEBUG_ESCAPES[c])
        elif c == " " or c.isprintable():
            out.append(c)
        else:
            out.append(f"\\u{{{ord(c):x}}}")
    out.append('"')
    return "".join(out)


_DEBUG_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def _match_base_text(scope: Scope, speller: PathSpeller) -> str:
    """`_match_base` as upstream spells it: Rust's `parent()` of a file scope is `dirname`."""
    if scope.kind.tag is ScopeKindTag.FOLDER:
        return os.path.join(speller.text, scope.kind.text)
    if scope.kind.tag is ScopeKindTag.FILE:
        return os.path.dirname(os.path.join(speller.text, scope.kind.text))
    return speller.text


def _no_files_matching(args: Sequence[Value], ctx: CallContext, speller: PathSpeller) -> CheckResult:
    scope = _scope_arg(args, "no_files_matching", "E114")
    pattern = _name_arg(args, "no_files_matching", "E115")
    base = _match_base(scope, ctx.workspace)
    try:
        matches = globbing.glob(base, pattern)
    except globbing.GlobPatternError:
        return CheckResult.errored(f"Invalid glob pattern: {pattern}", stable=True)
    ctx.record_tree(globbing.literal_directory(base, pattern))
    if not matches:
        return CheckResult.passed()
    # Upstream lists the first matches in the crate's order (duplicates and all), spelled from its base.
    base_text = _match_base_text(scope, speller)
    shown = [glob_match_text(base_text, base, p) for p in matches[:_SHOWN_MATCHES]]
    listed = "[" + ", ".join(rust_debug_str(p) for p in shown) + "]"
    located = tuple(Location(os.path.normpath(p)) for p in sorted(matches)[:MAX_LOCATIONS])
    return CheckResult.failed(f"Found {len(matches)} files matching pattern '{pattern}': {listed}", located)


def _max_size(args: Sequence[Value], ctx: CallContext, speller: PathSpeller) -> CheckResult:
    scope = _scope_arg(args, "max_size", "E116")
    limit = integer_arg(args, 1, "E117", "max_size requires a number as second argument")
    # No deps recorded: every path read here is in the scope, whose contents are already an input.
    over: dict[str, int] = {}
    for path in scope.paths:
        try:
            size = os.stat(path).st_size
        except (OSError, ValueError):
            continue  # Vanished since selection: upstream skips it.
        if size > limit:
            over[path] = size
    if over:
        # Upstream stops at the first file over the limit in its walk's order; that file is the one named.
        # Only the oversize files are put in that order (a passing check lists no directory).
        first = upstream_order(Scope(scope.kind, tuple(over)))[0]
        shown = speller.in_scope(scope, first)
        return CheckResult.failed(f"File '{shown}' exceeds maximum size ({over[first]} > {limit} bytes)")
    return CheckResult.passed()


_SELECTORS: dict[str, SelectorFn] = {
    "file_selector": _file_selector,
    "folder_selector": _folder_selector,
    "glob_selector": _glob_selector,
}
#: Checks whose messages name files, spelled from the workspace as given (`FilesLibrary(workspace_text=…)`).
_SPELLING_CHECKS: dict[str, Callable[[Sequence[Value], CallContext, PathSpeller], CheckResult]] = {
    "no_files_matching": _no_files_matching,
    "max_size": _max_size,
}


def _spelled_absolute(name: str) -> CheckFn:
    def check(args: Sequence[Value], ctx: CallContext) -> CheckResult:
        return _SPELLING_CHECKS[name](args, ctx, PathSpeller(ctx.workspace, ctx.workspace))

    return check


_CHECKS: dict[str, CheckFn] = {
    "exists": _exists,
    "contains": _contains,
    **{name: _spelled_absolute(name) for name in _SPELLING_CHECKS},
}


class FilesLibrary(BuiltinLibrary):
    canonical_name = "files"
    semantics_version = 2
    selectors = _SELECTORS
    checks = _CHECKS
    unknown = ("E199", "Unknown function: files.{}", "Unknown check function: files.{}")

    def __init__(self, name: str | None = None, *, workspace_text: str | None = None) -> None:
        """`workspace_text`: the workspace as the user named it (`-w`, else the spec's directory), which
        upstream's messages start file paths with; None spells them absolute."""
        super().__init__(name)
        self.workspace_text = workspace_text
        self._spellers: dict[str, PathSpeller] = {}

    def check(self, function: str, args: list[Value], ctx: CallContext) -> CheckResult:
        spelling = _SPELLING_CHECKS.get(function)
        if spelling is None:
            return super().check(function, args, ctx)
        speller = self._spellers.get(ctx.workspace)
        if speller is None:
            speller = self._spellers[ctx.workspace] = PathSpeller(ctx.workspace, self.workspace_text or ctx.workspace)
        return spelling(args, ctx, speller)

    def identity(self) -> str:
        # Messages depend on the spelling; an absolute spelling of the workspace itself is relocated to the
        # root marker like every identity, so stores stay valid at any checkout path.
        base = super().identity()
        return base if self.workspace_text is None else f"{base}:{self.workspace_text}"
