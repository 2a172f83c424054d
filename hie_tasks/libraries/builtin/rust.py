"""The built-in `rust` library: select crates, modules and items; check existence, use, derives, docs,
tests, dependencies and type flow.

Semantics are textual, exactly as upstream's: plain substring tests (prefix matches included, comments
counting) over whole files; only `struct_selector` and the primary-type rule use regexes.

Differences from upstream (the spec's sanctioned fixes; verdicts differ only in the cases named):
- the workspace walk never prunes the workspace directory itself (a workspace named `target` or `vendor`
  used to yield no files); paths are absolute and sorted in scopes, but where order shows (the file the
  primary-type rule reads first, the order `depends_on` visits source files and lists target names) a
  walked scope (crate, folder, item selectors) is read in upstream's directory-listing order;
- `module_selector`'s `mod.rs` test reads the workspace-relative path, not the full path text;
- `struct_selector` escapes the name (upstream inserted it into the regex raw);
- `crate_selector` applies the rust exclusions below the crate directory (`target/`, `.git`, ...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.builtin import glob as globbing
from hie_tasks.libraries.builtin.args import scope_arg, string_arg
from hie_tasks.libraries.builtin.library import BuiltinLibrary
from hie_tasks.libraries.builtin.pathtext import upstream_order
from hie_tasks.libraries.builtin.sources import (
    any_text,
    match_locations,
    scope_check,
    source_paths,
    stem_module_paths,
    text_selector,
    texts,
)
from hie_tasks.libraries.builtin.text import WS, read_recorded
from hie_tasks.libraries.builtin.walk import WalkRules, file_stem
from hie_tasks.model.values import CheckResult, Scope, ScopeKind, ScopeKindTag, Status, Value

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from hie_tasks.libraries.builtin.library import CheckFn, SelectorFn

RUST_RULES = WalkRules(
    extension="rs",
    excluded_dirs=frozenset({"target", ".git", "node_modules", ".cargo", "vendor"}),
    regular_files_only=False,
)

TextTest = Callable[[str], bool]


def module_name(path: str) -> str | None:
    """A path's Rust module name: its stem, except that `mod.rs` is named after its directory."""
    name = os.path.basename(path)
    if name in ("", ".."):
        return None
    stem = file_stem(name)
    if stem != "mod":
        return stem
    parent = os.path.basename(os.path.dirname(path))
    return parent if parent not in ("", "..") else None


# --- item tests shared by the selectors and the *_exists checks -------------------------------------------


class _Occurrences:
    """Where a keyword occurs in a file's text, found once per text and shared by every selector and check
    that asks (issue 14: a cold run of a few hundred item checks used to scan each file again per check).

    `needle in text` for `needle = word + name` holds exactly when `name` follows one of `word`'s
    occurrences, so each test reads a handful of positions instead of the whole text. Keyed by the text
    itself: the source cache hands every caller the same string object, whose hash Python keeps."""

    LIMIT = 1 << 14

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], tuple[int, ...]] = {}

    def of(self, text: str, word: str) -> tuple[int, ...]:
        key = (word, text)
        found = self._found.get(key)
        if found is None:
            if len(self._found) >= self.LIMIT:
                self._found.clear()  # a long-lived process (watch, the daemon) sees texts come and go
            positions = []
            at = text.find(word)
            while at >= 0:
                positions.append(at)
                at = text.find(word, at + 1)
            found = self._found[key] = tuple(positions)
        return found

    def follows(self, text: str, word: str, name: str) -> bool:
        """`word + name in text`."""
        step = len(word)
        return any(text.startswith(name, at + step) for at in self.of(text, word))


_OCCURRENCES = _Occurrences()


def _struct_test(name: str) -> TextTest:
    # Keep: no word boundary before `struct`, and a trailing `struct Foo` at the very end is not found.
    # Fix (spec: do not copy): the name is escaped. Upstream's pattern starts with an optional `(pub\s+)?`,
    # which cannot change whether a match exists. Every match starts at an occurrence of `struct`.
    regex = re.compile(rf"struct{WS}+{re.escape(name)}({WS}*[<{{(;]|{WS})")
    return lambda text: any(regex.match(text, at) for at in _OCCURRENCES.of(text, "struct"))


def _contains_test(word: str, name: str) -> TextTest:
    # Keep: a prefix match (`enum Token` finds `enum TokenKind`) that also fires inside comments.
    return lambda text: _OCCURRENCES.follows(text, word, name)


def _impl_test(name: str) -> TextTest:
    # Keep: the generic rule fires on any file with some `impl<` and some `> NAME` (e.g. `-> NAME`).
    return lambda text: _implemented(text, name)


def _implemented(text: str, what: str) -> bool:
    """`f"impl {what}" in text or ("impl<" in text and f"> {what}" in text)`."""
    if _OCCURRENCES.follows(text, "impl ", what):
        return True
    return bool(_OCCURRENCES.of(text, "impl<")) and _OCCURRENCES.follows(text, "> ", what)


@dataclass(frozen=True)
class _Item:
    """An item kind found by name: its selector, its `*_exists` check and how a file is tested."""

    selector: str
    check: str
    wording: str  # "a struct name", in both argument errors
    label: str  # "Struct", in the Fail message
    selector_code: str
    check_code: str
    make_test: Callable[[str], TextTest]


_ITEMS: dict[str, _Item] = {
    "struct": _Item(
        "struct_selector", "struct_exists", "a struct name", "Struct", "E302", "E310", _struct_test
    ),
    "enum": _Item(
        "enum_selector",
        "enum_exists",
        "an enum name",
        "Enum",
        "E303",
        "E311",
        lambda n: _contains_test("enum ", n),
    ),
    "fn": _Item(
        "function_selector",
        "function_exists",
        "a function name",
        "Function",
        "E304",
        "E312",
        lambda n: _contains_test("fn ", n),
    ),
    "trait": _Item(
        "trait_selector",
        "trait_exists",
        "a trait name",
        "Trait",
        "E305",
        "E313",
        lambda n: _contains_test("trait ", n),
    ),
    "impl": _Item("impl_selector", "impl_exists", "a type name", "Impl for", "E306", "E314", _impl_test),
}


def _item_selector(prefix: str) -> SelectorFn:
    item = _ITEMS[prefix]

    def select(args: Sequence[Value], ctx: CallContext) -> Scope:
        name = string_arg(args, 0, item.selector_code, f"{item.selector} requires {item.wording}")
        return text_selector(ctx, RUST_RULES, f"{prefix}:{name}", item.make_test(name))

    return select


def _workspace_has(ctx: CallContext, test: TextTest) -> bool:
    return any_text(ctx, source_paths(ctx, RUST_RULES), test)


def _item_exists(prefix: str) -> CheckFn:
    item = _ITEMS[prefix]

    def exists(args: Sequence[Value], ctx: CallContext) -> CheckResult:
        name = string_arg(args, 0, item.check_code, f"{item.check} requires {item.wording}")
        if _workspace_has(ctx, item.make_test(name)):
            return CheckResult.passed()
        return CheckResult.failed(f"{item.label} '{name}' not found")

    return exists


# --- crate and module selectors ----------------------------------------------------------------------------


def _find_crate_dir(ctx: CallContext, name: str) -> str | None:
    ws = ctx.workspace
    needle = f'name = "{name}"'
    # Keep: the needle may match in any table (`[[bin]]`, a dependency) and the root manifest is tried
    # first, so a single-crate repository named `name` selects the whole workspace.
    for manifest in (
        os.path.join(ws, "Cargo.toml"),
        os.path.join(ws, "crates", name, "Cargo.toml"),
        os.path.join(ws, name, "Cargo.toml"),
    ):
        text = read_recorded(ctx, manifest)
        if text is not None and needle in text:
            return os.path.realpath(os.path.dirname(manifest))
    crates = os.path.join(ws, "crates")
    ctx.record_tree(crates, ("Cargo.toml",))
    for manifest in sorted(globbing.glob(crates, "*/Cargo.toml")):
        text = read_recorded(ctx, manifest)
        if text is not None and needle in text:
            return os.path.dirname(manifest)
    return None


def _crate_selector(args: Sequence[Value], ctx: CallContext) -> Scope:
    name = string_arg(args, 0, "E300", "crate_selector requires a crate name")
    crate_dir = _find_crate_dir(ctx, name)
    paths = () if crate_dir is None else tuple(source_paths(ctx, RUST_RULES, crate_dir))
    return Scope(ScopeKind.folder(name), paths)


def _module_selector(args: Sequence[Value], ctx: CallContext) -> Scope:
    module_path = string_arg(args, 0, "E301", "module_selector requires a module path")
    # Keep: earlier `::` pieces are ignored (`stdlib::files` selects like `files`).
    last = module_path.split("::")[-1]
    paths = stem_module_paths(ctx, RUST_RULES, last, "mod", lambda _rel: True)
    return Scope(ScopeKind.file(module_path), tuple(paths))


# --- checks over scopes ------------------------------------------------------------------------------------


def _uses(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    scope = scope_arg(args, 0, "E317", "uses requires a scope")
    module = string_arg(args, 1, "E318", "uses requires a module path")
    use, path = f"use {module}", f"{module}::"
    return scope_check(ctx, scope, lambda t: use in t or path in t, f"Module does not use '{module}'")


def _has_derive(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    scope = scope_arg(args, 0, "E319", "has_derive requires a scope")
    derive = string_arg(args, 1, "E320", "has_derive requires a derive name")
    # Keep: both substrings anywhere in the file, not necessarily together.
    return scope_check(
        ctx, scope, lambda t: "#[derive(" in t and derive in t, f"No #[derive({derive})] found"
    )


def _has_docs(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    scope = scope_arg(args, 0, "E321", "has_docs requires a scope")
    # Keep: a `file:///` URL counts as a doc comment.
    return scope_check(ctx, scope, lambda t: "//!" in t or "///" in t, "No documentation comments found")


def _has_tests(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    scope = scope_arg(args, 0, "E322", "has_tests requires a scope")
    return scope_check(ctx, scope, lambda t: "#[test]" in t or "#[cfg(test)]" in t, "No tests found")


def _implements(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    type_name = string_arg(args, 0, "E315", "implements requires a type name")
    trait = string_arg(args, 1, "E316", "implements requires a trait name")
    what = f"{trait} for {type_name}"
    # Keep: prefix matching (`impl Library for FilesLibraryX` satisfies `FilesLibrary`); `impl Library<T>
    # for X` and `impl crate::Library for X` are not seen.
    if _workspace_has(ctx, lambda t: _implemented(t, what)):
        return CheckResult.passed()
    return CheckResult.failed(f"'{type_name}' does not implement '{trait}'")


# --- dependencies ------------------------------------------------------------------------------------------


def _target_names(scope: Scope) -> list[str]:
    """Each path's module name (duplicates kept), then a File kind's last `::` piece if new."""
    names = [n for n in (module_name(p) for p in upstream_order(scope)) if n is not None]
    if scope.kind.tag is ScopeKindTag.FILE:
        # Keep: the kind text is used whatever library made the scope (`struct:Token`, `src/lexer.rs`),
        # so a module scope contributes its name even when it selected nothing.
        last = scope.kind.text.split("::")[-1]
        if last not in names:
            names.append(last)
    return names


def _dependency_needles(targets: list[str]) -> list[tuple[str, ...]]:
    # Keep: no word boundaries (`ast` is found in `broadcast::`). The upstream list also had
    # `crate::t::`, `super::t::` and `use t::`, all implied by `t::`.
    return [(f"use crate::{t}", f"use super::{t}", f"mod {t};", f"{t}::") for t in targets]


def _dependency(source: Scope, target: Scope, ctx: CallContext) -> CheckResult:
    """`depends_on`'s verdict: Pass, Fail or Error (Errors pass through `no_dependency` unchanged)."""
    targets = _target_names(target)
    if not targets:
        return CheckResult.errored("Could not determine target module names", stable=True)
    if not source.paths:
        return CheckResult.errored("Source scope has no paths", stable=True)
    needles = _dependency_needles(targets)
    # Upstream's order: the first unreadable file errs before a later file could pass.
    for path in upstream_order(source):
        text = read_recorded(ctx, path)
        if text is None:
            # Unlike every other check, an unreadable source file (e.g. a binary) is an Error at once.
            return CheckResult.errored(f"Could not read file: {path}")
        if any(n in text for group in needles for n in group):
            return CheckResult.passed()
    return CheckResult.failed(f"No dependency found: source does not use '{', '.join(targets)}'")


def _depends_on(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    source = scope_arg(args, 0, "E323", "depends_on requires a source scope as first argument")
    target = scope_arg(args, 1, "E324", "depends_on requires a target scope as second argument")
    return _dependency(source, target, ctx)


def _no_dependency(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    source = scope_arg(args, 0, "E325", "no_dependency requires a source scope as first argument")
    target = scope_arg(args, 1, "E326", "no_dependency requires a target scope as second argument")
    result = _dependency(source, target, ctx)
    if result.ok:
        # Upstream's message; the lines that use the target come beside it as structured locations.
        needles = [re.escape(n) for group in _dependency_needles(_target_names(target)) for n in group]
        offenders = match_locations(ctx, source.paths, re.compile("|".join(needles)))
        return CheckResult.failed("Forbidden dependency detected", offenders)
    if result.status is Status.FAIL:
        return CheckResult.passed()
    return result


# --- type flow ---------------------------------------------------------------------------------------------

_PUB_STRUCT = re.compile(rf"pub{WS}+struct{WS}+(\w+)")
_PUB_ENUM = re.compile(rf"pub{WS}+enum{WS}+(\w+)")
_NAMED_KINDS = ("struct:", "enum:", "trait:")


def _primary_type(scope: Scope, ctx: CallContext) -> str | None:
    """The kind's item name for struct/enum/trait selectors; else the first file's first `pub struct`,
    else its first `pub enum` (a struct anywhere in a file beats an earlier enum)."""
    if scope.kind.tag is ScopeKindTag.FILE:
        for prefix in _NAMED_KINDS:
            if scope.kind.text.startswith(prefix):
                return scope.kind.text[len(prefix) :]
    for _, text in texts(ctx, upstream_order(scope)):
        for regex in (_PUB_STRUCT, _PUB_ENUM):
            match = regex.search(text)
            if match is not None:
                return match.group(1)
    return None


def _pipeline_connects(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    output = scope_arg(args, 0, "E327", "pipeline_connects requires an output scope as first argument")
    input_ = scope_arg(args, 1, "E328", "pipeline_connects requires an input scope as second argument")
    type_name = _primary_type(output, ctx)
    if type_name is None:
        return CheckResult.errored("Could not determine output type", stable=True)

    def uses_type(text: str) -> bool:
        return type_name in text

    if any_text(ctx, input_.paths, uses_type):
        return CheckResult.passed()
    # Also any workspace file that is the same module as an input file (`foo.rs` vs `foo/mod.rs`).
    modules = {module_name(p) for p in input_.paths} - {None}
    siblings = [p for p in source_paths(ctx, RUST_RULES) if module_name(p) in modules]
    if any_text(ctx, siblings, uses_type):
        return CheckResult.passed()
    return CheckResult.failed(f"Pipeline not connected: '{type_name}' is not used by input scope")


def _type_compatible(args: Sequence[Value], ctx: CallContext) -> CheckResult:
    first = scope_arg(args, 0, "E329", "type_compatible requires a scope as first argument")
    second = scope_arg(args, 1, "E330", "type_compatible requires a scope as second argument")
    a = _primary_type(first, ctx)
    if a is None:
        return CheckResult.errored("Could not determine type from first scope", stable=True)
    b = _primary_type(second, ctx)
    if b is None:
        return CheckResult.errored("Could not determine type from second scope", stable=True)
    if (
        a == b
        or any_text(ctx, second.paths, lambda t: a in t)
        or any_text(ctx, first.paths, lambda t: b in t)
    ):
        return CheckResult.passed()
    return CheckResult.failed(f"Types '{a}' and '{b}' are not compatible")


_SELECTORS: dict[str, SelectorFn] = {
    "crate_selector": _crate_selector,
    "module_selector": _module_selector,
    **{item.selector: _item_selector(prefix) for prefix, item in _ITEMS.items()},
}
_CHECKS: dict[str, CheckFn] = {
    **{item.check: _item_exists(prefix) for prefix, item in _ITEMS.items()},
    "implements": _implements,
    "uses": _uses,
    "has_derive": _has_derive,
    "has_docs": _has_docs,
    "has_tests": _has_tests,
    "depends_on": _depends_on,
    "no_dependency": _no_dependency,
    "pipeline_connects": _pipeline_connects,
    "type_compatible": _type_compatible,
}


class RustLibrary(BuiltinLibrary):
    canonical_name = "rust"
    semantics_version = 1
    selectors = _SELECTORS
    checks = _CHECKS
    unknown = ("E399", "Unknown function: rust.{}", "Unknown check: rust.{}")
