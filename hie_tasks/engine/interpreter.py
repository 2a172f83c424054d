"""Evaluate a specification into a plan: scopes evaluated, every check's arguments evaluated.

Upstream semantics (language.md §4): only elements run; they are visited depth-first in source order; each
element evaluates its scopes in order (storing `<path>.<name>`), then its checks, then its children. A scope
that fails to evaluate becomes a diagnostic and stays unset. A check whose arguments fail to evaluate becomes
an Error verdict carrying the error's message.

Selector calls happen here, sequentially, because later identifiers resolve against what earlier scopes
stored. The *checks* themselves (the expensive part) are executed later by `runner`, possibly in parallel and
possibly replayed from the result store — that is why planning stops at evaluated arguments.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from hie_tasks.diagnostics import Span, error
from hie_tasks.engine.planned import Plan, PlannedCheck
from hie_tasks.engine.scopes import ScopeStore
from hie_tasks.lang import ast
from hie_tasks.lang.printer import expr_text
from hie_tasks.libraries.base import CallContext, Library, Purity
from hie_tasks.libraries.registry import Registry
from hie_tasks.model.codec import dumps_canonical, encode_value
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import Value


class EvalError(Exception):
    def __init__(self, code: str, message: str, span: Span) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span


#: A selector cache the runner may supply: (library, function, args, ctx, compute) → value.
SelectorCall = Callable[[Library, str, list[Value], CallContext], Value]


def direct_selector_call(library: Library, function: str, args: list[Value], ctx: CallContext) -> Value:
    return library.call(function, args, ctx)


class Interpreter:
    def __init__(
        self,
        registry: Registry,
        workspace: str,
        *,
        element_filter: str | None = None,
        selector_call: SelectorCall = direct_selector_call,
    ) -> None:
        self.registry = registry
        self.workspace = workspace
        self.element_filter = element_filter
        self.selector_call = selector_call
        self._store = ScopeStore()
        #: selector answers of the plan being built: (library, function, args JSON) → (value, what it read)
        self._selections: dict[tuple[int, str, str], tuple[Value, CallContext]] = {}

    # ------------------------------------------------------------------ walking

    def plan(self, programs: list[ast.Program]) -> Plan:
        plan = Plan()
        self._store = plan.scopes
        self._selections.clear()
        for program in programs:
            spec_file = self._spec_key(program.file)
            for element in program.elements:
                self._visit(element, "", spec_file, plan)
        return plan

    def _spec_key(self, file: str) -> str:
        absolute = os.path.abspath(file)
        rel = os.path.relpath(absolute, self.workspace)
        return absolute if rel.startswith("..") else rel.replace(os.sep, "/")

    def _visit(self, element: ast.Element, parent: str, spec_file: str, plan: Plan) -> None:
        path = f"{parent}.{element.name}" if parent else element.name
        for scope in element.scopes:
            if scope.expr is None:
                continue
            key = f"{path}.{scope.name}"
            ctx = CallContext(self.workspace)
            try:
                value = self._eval(scope.expr, path, ctx)
            except EvalError as exc:
                plan.diagnostics.append(
                    error(exc.code, f"Failed to evaluate scope '{key}': {exc.message}", exc.span)
                )
                continue
            plan.scopes.put(key, value)
            plan.scope_inputs[key] = ctx
        selected = self.element_filter is None or self.element_filter in path
        for index, decl in enumerate(element.checks):
            planned = PlannedCheck(path, index, expr_text(decl.expr), spec_file, decl.span)
            if not selected:
                planned.skipped = True
            else:
                self._prepare_check(decl, path, planned)
            plan.checks.append(planned)
        for child in element.children:
            self._visit(child, path, spec_file, plan)

    def _prepare_check(self, decl: ast.CheckDecl, path: str, planned: PlannedCheck) -> None:
        expr = decl.expr
        try:
            if not isinstance(expr, ast.Call):
                raise EvalError("E204", "Check must be a function call", decl.span)
            # Arguments first, then the callee: an undefined identifier is reported before an unknown
            # library, as upstream does.
            ctx = CallContext(self.workspace)
            planned.args = [self._eval(arg, path, ctx) for arg in expr.args]
            library, function = self._callee(expr)
            planned.library = library
            planned.function = function
        except EvalError as exc:
            planned.error = exc.message

    # ------------------------------------------------------------------ expressions

    def _callee(self, call: ast.Call) -> tuple[Library, str]:
        callee = call.callee
        if not (isinstance(callee, ast.MemberAccess) and isinstance(callee.target, ast.Identifier)):
            raise EvalError("E205", "Expected library.function", call.span)
        library = self.registry.get(callee.target.name)
        if library is None:
            raise EvalError("E203", f"Unknown library: {callee.target.name}", callee.target.span)
        return library, callee.member

    def _eval(self, expr: ast.Expr, path: str, ctx: CallContext) -> Value:
        if isinstance(expr, ast.StringLit):
            return expr.value
        if isinstance(expr, ast.NumberLit):
            return expr.value
        if isinstance(expr, ast.BoolLit):
            return expr.value
        if isinstance(expr, ast.ListLit):
            return [self._eval(item, path, ctx) for item in expr.items]
        if isinstance(expr, ast.Identifier):
            found, value = self._store.resolve_name(path, expr.name)
            if not found:
                raise EvalError("E200", f"Undefined identifier: {expr.name}", expr.span)
            return value
        if isinstance(expr, ast.MemberAccess):
            dotted = expr_text(expr)
            if not isinstance(expr.target, ast.MemberAccess):
                # Upstream evaluates no two-part path as a value (`a.s`, `files.folder_selector`): only paths
                # of three parts or more are looked up among the stored scopes.
                raise EvalError("E201", f"Member access {dotted} cannot be evaluated directly", expr.span)
            found, value = self._store.resolve_dotted(dotted)
            if found:
                return value
            raise EvalError("E202", f"Undefined reference: {dotted}", expr.span)
        # the only expression kind left is a call: a selector, whose value becomes the argument
        args = [self._eval(arg, path, ctx) for arg in expr.args]
        library, function = self._callee(expr)
        try:
            return self._select(library, function, args, ctx)
        except LibraryError as exc:
            raise EvalError(exc.code, exc.message, expr.span) from exc

    def _select(self, library: Library, function: str, args: list[Value], ctx: CallContext) -> Value:
        """A selector call, answered once per plan for deterministic libraries.

        Specs repeat selectors (`files.folder_selector('src')` in many elements); a plan is a snapshot of the
        workspace, so a built-in or pure library gives the same answer each time within it. Plugins that are
        not pure are called every time, as upstream calls them. A failure is not memoised.
        """
        if library.kind != "builtin" and library.purity() is not Purity.PURE:
            return self.selector_call(library, function, args, ctx)
        key = (id(library), function, dumps_canonical([encode_value(a) for a in args]))
        known = self._selections.get(key)
        if known is None:
            inner = CallContext(self.workspace)
            known = (self.selector_call(library, function, args, inner), inner)
            self._selections[key] = known
        value, seen = known
        ctx.deps |= seen.deps
        ctx.trees |= seen.trees
        ctx.output.extend(seen.output)
        return value
