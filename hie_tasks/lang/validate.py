"""Semantic checks that need no evaluation.

`validate` gives warnings only, so it never rejects a file upstream accepts; `resolve_calls` (below) checks
every call against the libraries' catalogs, as errors in hie-tasks and as warnings in the upstream drop-in.

- W001: `import x`, `import x.y` or `from x import …` where `x` names no known library (built-in or configured).
  String path imports are spec files, handled by the loader, not libraries.
- W003: `element e implements P` where no pattern or template named `P` exists in the files loaded together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from hie_tasks.diagnostics import Diagnostic, Span, error, warning
from hie_tasks.lang.ast import (
    BoolLit,
    Call,
    CheckDecl,
    Element,
    Expr,
    Identifier,
    ListLit,
    MemberAccess,
    NumberLit,
    Pattern,
    Program,
    RefDecl,
    ScopeDecl,
    StringLit,
)


def _elements(items: Iterable[object]) -> Iterator[Element]:
    for item in items:
        if isinstance(item, Element):
            yield item
            yield from _elements(item.items)


def pattern_names(programs: Iterable[Program]) -> set[str]:
    return {d.name for p in programs for d in p.declarations if isinstance(d, Pattern)}


def validate(
    program: Program, known_libraries: set[str], known_patterns: set[str] | None = None
) -> list[Diagnostic]:
    """Warnings for `program`. `known_patterns` defaults to the patterns declared in `program` itself."""
    diags: list[Diagnostic] = []
    for imp in program.imports:
        if imp.is_string or imp.path[0] in known_libraries:
            continue
        known = ", ".join(sorted(known_libraries)) or "none"
        diags.append(
            warning(
                "W001",
                f"unknown library `{imp.path[0]}` in import",
                imp.span,
                help=f"known libraries: {known}; configure others in hielements.toml",
            )
        )
    patterns = pattern_names([program]) if known_patterns is None else known_patterns
    for decl in program.declarations:
        # Elements inside patterns are templates themselves; their `implements` is checked all the same.
        roots = decl.items if isinstance(decl, Pattern) else [decl] if isinstance(decl, Element) else []
        for element in _elements(roots):
            for name in element.implements:
                if name not in patterns:
                    diags.append(
                        warning(
                            "W003",
                            f"element `{element.name}` implements `{name}`, but no pattern `{name}` is declared",
                            element.name_span,
                            help=f"declare `pattern {name} {{ … }}` or import the spec file that declares it",
                        )
                    )
    return diags


# --------------------------------------------------------------------------------- call resolution
#
# Every `lib.fn(...)` call is resolved against the catalogs of the libraries the run will have, before any
# check runs: a selector where a selector is used (scope values, arguments), a check at the top of `check`.
# Unknown libraries and functions get "did you mean"; arity and literal argument types are checked where the
# catalog declares parameters (built-ins do; a plugin's metadata lists only names). Each call is judged on its
# own, so one typo never hides another and nothing cascades into "Undefined identifier".
# `hie-tasks` reports these as errors (E230–E233); the upstream drop-in keeps upstream's exit codes and reports
# them as warnings with the same numbers (W230–W233).

UNKNOWN_LIBRARY, UNKNOWN_FUNCTION, WRONG_ARITY, WRONG_TYPE = "230", "231", "232", "233"


@dataclass(frozen=True)
class Signature:
    #: parameter types as the catalog writes them (`Scope`, `string`, `number`), or None when not declared
    params: tuple[str, ...] | None = None
    #: the return type when declared (`Scope` for the built-in selectors)
    returns: str | None = None


@dataclass(frozen=True)
class Catalog:
    """What one library offers, as far as it is known. `None` maps mean "unknown": no finding is made."""

    name: str
    selectors: Mapping[str, Signature] | None = None
    checks: Mapping[str, Signature] | None = None


def _suggest(name: str, candidates: Iterable[str]) -> str:
    import difflib  # only on the error path: ~10 ms of start-up otherwise

    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


def _literal_kind(expr: Expr, catalogs: Mapping[str, Catalog]) -> str | None:
    """The kind a literal or nested selector call certainly has: 'string', 'number', 'bool', 'list', 'Scope'."""
    if isinstance(expr, StringLit):
        return "string"
    if isinstance(expr, NumberLit):
        return "number"
    if isinstance(expr, BoolLit):
        return "bool"
    if isinstance(expr, ListLit):
        return "list"
    if isinstance(expr, Call) and isinstance(expr.callee, MemberAccess) and isinstance(expr.callee.target, Identifier):
        catalog = catalogs.get(expr.callee.target.name)
        if catalog is not None and catalog.selectors is not None and expr.callee.member in catalog.selectors:
            return "Scope" if catalog.selectors[expr.callee.member].returns == "Scope" else None
    return None


def _accepts(param: str, kind: str) -> bool:
    want = param.lower()
    if want in ("scope", "scope[]"):
        return kind == "Scope"
    if want in ("string", "str"):
        return kind == "string"
    if want in ("number", "int", "integer", "float"):
        return kind == "number"
    if want in ("bool", "boolean"):
        return kind == "bool"
    return True  # a type we do not know how to check


class _Resolver:
    def __init__(self, catalogs: Mapping[str, Catalog], as_errors: bool) -> None:
        self.catalogs = catalogs
        self.as_errors = as_errors
        self.diags: list[Diagnostic] = []

    def report(self, number: str, message: str, span: Span, help: str | None) -> None:
        make = error if self.as_errors else warning
        self.diags.append(make(("E" if self.as_errors else "W") + number, message, span, help=help))

    def expr(self, e: Expr | None, role: str) -> None:
        if isinstance(e, ListLit):
            for item in e.items:
                self.expr(item, "selector")
        elif isinstance(e, Call):
            self.call(e, role)

    def call(self, call: Call, role: str) -> None:
        for arg in call.args:
            self.expr(arg, "selector")
        callee = call.callee
        if not (isinstance(callee, MemberAccess) and isinstance(callee.target, Identifier)):
            return  # not `lib.fn(...)`: the interpreter's E205 says so at run time
        lib, fn = callee.target.name, callee.member
        catalog = self.catalogs.get(lib)
        if catalog is None:
            hint = _suggest(lib, self.catalogs)
            known = ", ".join(sorted(self.catalogs))
            self.report(UNKNOWN_LIBRARY, f"unknown library `{lib}` in `{lib}.{fn}(…)`" + (f"; {hint}" if hint else ""),
                        callee.target.span, f"known libraries: {known}; configure others in hielements.toml")
            return
        wanted, other = (catalog.checks, catalog.selectors) if role == "check" else (catalog.selectors, catalog.checks)
        if wanted is None:
            return
        signature = wanted.get(fn)
        if signature is None:
            kind, other_kind = ("check", "selector") if role == "check" else ("selector", "check")
            if other is not None and fn in other:
                message = f"`{lib}.{fn}` is a {other_kind}, not a {kind}"
                help = (f"use it as `scope s = {lib}.{fn}(…)`" if other_kind == "selector"
                        else f"use it as `check {lib}.{fn}(…)`")
            else:
                hint = _suggest(fn, wanted)
                message = f"library `{lib}` has no {kind} `{fn}`" + (f"; {hint}" if hint else "")
                help = f"{kind}s of `{lib}`: {', '.join(sorted(wanted)) or 'none'} (hie-tasks doc -l {lib})"
            self.report(UNKNOWN_FUNCTION, message, callee.span, help)
            return
        if signature.params is None:
            return
        if len(call.args) != len(signature.params):
            n = len(signature.params)
            self.report(WRONG_ARITY,
                        f"`{lib}.{fn}` takes {n} argument{'s' * (n != 1)}, got {len(call.args)}", call.span,
                        f"`{lib}.{fn}({', '.join(signature.params)})`")
            return
        for i, (arg, param) in enumerate(zip(call.args, signature.params, strict=True), 1):
            got = _literal_kind(arg, self.catalogs)
            if got is not None and not _accepts(param, got):
                self.report(WRONG_TYPE, f"argument {i} of `{lib}.{fn}` must be a {param}, got a {got}", arg.span,
                            f"`{lib}.{fn}({', '.join(signature.params)})`")


def _element_exprs(element: Element) -> Iterator[tuple[Expr | None, str]]:
    for item in element.items:
        if isinstance(item, (ScopeDecl, RefDecl)):
            yield item.expr, "selector"
        elif isinstance(item, CheckDecl):
            yield item.expr, "check"
        elif isinstance(item, Element):
            yield from _element_exprs(item)


def resolve_calls(program: Program, catalogs: Mapping[str, Catalog], *, as_errors: bool = True) -> list[Diagnostic]:
    """Findings for every call of `program` that its library's catalog does not offer as written."""
    resolver = _Resolver(catalogs, as_errors)
    for decl in program.declarations:
        roots = decl.items if isinstance(decl, Pattern) else [decl] if isinstance(decl, Element) else []
        for root in roots:
            if isinstance(root, Element):
                for expr, role in _element_exprs(root):
                    resolver.expr(expr, role)
    return resolver.diags
