"""Where a planned check's scope arguments came from, for messages that name them.

A plan holds evaluated values (`Scope(paths=())`); people think in the names they wrote (`src`, declared by
`files.folder_selector('src/apii')` on line 5). This module maps each planned check back to its
declaration and each Scope argument to the scope declaration or selector call that produced it, resolving
names as the interpreter does (the current element, then enclosing ones, then the latest scope so named).

Its first user is the empty-scope warning (W010): a scope that selects no files makes `exists`-style checks
fail and `no_import`-style checks pass vacuously, so every check using one says so before it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hie_tasks.diagnostics import Diagnostic, Span, warning
from hie_tasks.lang import ast
from hie_tasks.lang.printer import expr_text
from hie_tasks.model.values import Scope, Value

EMPTY_SCOPE = "W010"


@dataclass(frozen=True)
class ScopeOrigin:
    """What produced one Scope argument: a named scope (`name` set) or a selector call written in place."""

    #: what the check's argument says (`src`, `files.glob_selector('*.py')`)
    text: str
    #: the selector expression (`files.folder_selector('src/apii')`)
    selector: str
    #: the scope declaration, or the call written in place
    span: Span
    name: str | None = None
    #: the library named by the selector (`files`), None when not a `lib.fn(...)` call
    library: str | None = None


@dataclass
class CheckSite:
    element: str
    index: int
    decl: ast.CheckDecl
    #: scope key (`orders.src`) → declaration, for the scopes declared before this check
    scopes: dict[str, ast.ScopeDecl]


def element_paths(programs: list[ast.Program]) -> list[str]:
    return [path for path, _ in _walk(programs)]


def _walk(programs: list[ast.Program]) -> Iterator[tuple[str, ast.Element]]:
    def visit(element: ast.Element, parent: str) -> Iterator[tuple[str, ast.Element]]:
        path = f"{parent}.{element.name}" if parent else element.name
        yield path, element
        for child in element.children:
            yield from visit(child, path)

    for program in programs:
        for element in program.elements:
            yield from visit(element, "")


def check_sites(
    programs: list[ast.Program], wanted: set[tuple[str, int]] | None = None
) -> dict[tuple[str, int], CheckSite]:
    """(element path, check index) → its site, in the interpreter's visiting order; only the `wanted` ones
    when given. Each site copies the scopes declared so far, so asking for all of them costs checks × scopes
    (at 20k checks / 10k scopes that was 8 s and 2.5 GB): callers that need a few say which."""
    declared: dict[str, ast.ScopeDecl] = {}
    sites: dict[tuple[str, int], CheckSite] = {}
    for path, element in _walk(programs):
        for scope in element.scopes:
            declared.pop(f"{path}.{scope.name}", None)  # re-declared: it becomes the most recent
            declared[f"{path}.{scope.name}"] = scope
        for index, decl in enumerate(element.checks):
            if wanted is None or (path, index) in wanted:
                sites[(path, index)] = CheckSite(path, index, decl, dict(declared))
    return sites


def _has_empty_scope(value: Value) -> bool:
    if isinstance(value, Scope):
        return not value.paths
    if isinstance(value, list):
        return any(_has_empty_scope(item) for item in value)
    return False


def _library_of(expr: ast.Expr | None) -> str | None:
    if isinstance(expr, ast.Call) and isinstance(expr.callee, ast.MemberAccess) \
            and isinstance(expr.callee.target, ast.Identifier):
        return expr.callee.target.name
    return None


def _resolve(site: CheckSite, expr: ast.Expr) -> ast.ScopeDecl | None:
    if isinstance(expr, ast.Identifier):
        parts = site.element.split(".")
        for depth in range(len(parts), 0, -1):
            found = site.scopes.get(".".join([*parts[:depth], expr.name]))
            if found is not None:
                return found
        suffix = "." + expr.name
    elif isinstance(expr, ast.MemberAccess):
        dotted = expr_text(expr)
        if dotted in site.scopes:
            return site.scopes[dotted]
        suffix = "." + dotted
    else:
        return None
    for key in reversed(site.scopes):
        if key.endswith(suffix):
            return site.scopes[key]
    return None


def scope_origins(site: CheckSite, args: list[Value]) -> list[tuple[Scope, ScopeOrigin | None]]:
    """Each Scope among the evaluated `args` (counting into lists, left to right) with where it came from."""
    expr = site.decl.expr
    exprs: tuple[ast.Expr, ...] = expr.args if isinstance(expr, ast.Call) else ()
    out: list[tuple[Scope, ScopeOrigin | None]] = []

    def origin(arg: ast.Expr) -> ScopeOrigin | None:
        if isinstance(arg, ast.Call):
            text = expr_text(arg)
            return ScopeOrigin(text, text, arg.span, library=_library_of(arg))
        decl = _resolve(site, arg)
        if decl is None or decl.expr is None:
            return None
        return ScopeOrigin(expr_text(arg), expr_text(decl.expr), decl.span, decl.name, _library_of(decl.expr))

    def visit(value: Value, arg: ast.Expr | None) -> None:
        if isinstance(value, Scope):
            out.append((value, origin(arg) if arg is not None else None))
        elif isinstance(value, list):
            items = arg.items if isinstance(arg, ast.ListLit) else ()
            for i, item in enumerate(value):
                visit(item, items[i] if i < len(items) else None)

    for i, value in enumerate(args):
        visit(value, exprs[i] if i < len(exprs) else None)
    return out


def empty_scope_warnings(
    programs: list[ast.Program], checks: list[tuple[str, int, list[Value]]], hints: dict[str, str] | None = None
) -> list[Diagnostic]:
    """W010 once per scope that selects no files and that a check uses. `checks`: (element, index, args) of
    each check that will run; `hints`: library name → extra help (e.g. a missing file-access grant)."""
    checks = [check for check in checks if any(_has_empty_scope(arg) for arg in check[2])]
    if not checks:
        return []
    sites = check_sites(programs, {(element, index) for element, index, _ in checks})
    users: dict[Span, list[str]] = {}
    origins: dict[Span, ScopeOrigin] = {}
    for element, index, args in checks:
        site = sites.get((element, index))
        if site is None:
            continue
        for scope, found in scope_origins(site, args):
            if scope.paths or found is None:
                continue
            origins.setdefault(found.span, found)
            users.setdefault(found.span, []).append(f"{expr_text(site.decl.expr)} (line {site.decl.span.line})")
    diags: list[Diagnostic] = []
    for span, found in origins.items():
        what = f"scope `{found.name}`" if found.name else "the selector"
        used = users[span]
        shown = ", ".join(used[:3]) + (f" and {len(used) - 3} more" if len(used) > 3 else "")
        help_text = f"used by {shown}, which then fail or pass without looking at any file; check the path or pattern"
        hint = (hints or {}).get(found.library or "")
        if hint:
            help_text = f"{hint}; {help_text}"
        diags.append(warning(
            EMPTY_SCOPE, f"{what} selects no files: {found.selector} (line {span.line})", span, help=help_text,
        ))
    return diags
