"""A plan reused from the previous run when nothing it was made from changed (issue 14's lean no-op).

`Project.plan` asks `PlanCache.load` first; on a miss it plans through `PlanCache.recording(...)`'s selector
hook, which notes what every selector read, and hands the plan to `PlanCache.save`. Storage and validity
(HMAC, file digests, directory signatures) live in `incremental/plancache.py`; this module decides what a
plan is keyed by and turns a `Plan` into JSON and back.

The key holds everything the plan depends on apart from the files the selectors read: hie-tasks' version,
the workspace, the element filter, the digest of every spec file's text (as parsed, or as the cached spec
was validated against), `hielements.toml`'s bytes and the identity of every library
(WASM module digests, external plugin commands and scripts). A plan is stored only when it is a function of
those and of recorded inputs: every selector belongs to a built-in or a pure library, no check's arguments
failed, no plan-time error was reported and every WASM library loaded. Warnings (W010, …) are stored with
the plan and printed as planning would print them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hie_tasks.diagnostics import Diagnostic, Severity, Span
from hie_tasks.engine.cachedspec import source_digests
from hie_tasks.engine.interpreter import SelectorCall
from hie_tasks.engine.planned import Plan, PlannedCheck
from hie_tasks.incremental.digests import FileDigester, hash_bytes
from hie_tasks.incremental.plancache import PlanInputs, PlanStore, Uncacheable
from hie_tasks.lang.loader import SpecSet
from hie_tasks.libraries.base import CallContext, Library, Purity, TreeDep
from hie_tasks.libraries.builtin.walk import TOOL_DIRS
from hie_tasks.libraries.registry import Registry
from hie_tasks.model.codec import decode_value, encode_value
from hie_tasks.model.values import Scope, ScopeKind, ScopeKindTag, Value
from hie_tasks.version import __version__


class _Recorder:
    """A selector hook that answers through `inner` and remembers what the answers depended on."""

    def __init__(self, inner: SelectorCall, started_ns: int) -> None:
        self.inner = inner
        self.inputs = PlanInputs(started_ns=started_ns)
        #: why the plan cannot be stored, when a selector's answer is not a function of its recorded inputs
        self.unfit: str | None = None

    def __call__(self, library: Library, function: str, args: list[Value], ctx: CallContext) -> Value:
        if library.kind != "builtin" and library.purity() is not Purity.PURE:
            self.unfit = f"selector {library.name}.{function} is not pure"
        inner = CallContext(ctx.workspace)
        try:
            return self.inner(library, function, args, inner)
        finally:
            ctx.deps |= inner.deps
            ctx.trees |= inner.trees
            ctx.output.extend(inner.output)
            ctx.notes.extend(inner.notes)
            ws = ctx.workspace
            self.inputs.deps.update(os.path.normpath(os.path.join(ws, d)) for d in inner.deps)
            self.inputs.trees.update(TreeDep(os.path.normpath(os.path.join(ws, t.root)), t.suffixes, t.exclude)
                                     for t in inner.trees)


class PlanCache:
    def __init__(self, cache_dir: str, digester: FileDigester, workspace: str) -> None:
        # The store rewrites its directory on every run; under its default name no selector lists it.
        skip = cache_dir if os.path.basename(os.path.normpath(cache_dir)) in TOOL_DIRS else None
        self.store = PlanStore(cache_dir, digester, skip=skip)
        self.workspace = workspace

    def key(self, spec: SpecSet, registry: Registry, config_file: str | None, element_filter: str | None) -> str:
        parts = [__version__, self.workspace, "" if element_filter is None else "=" + element_filter,
                 _file_digest(config_file)]
        parts += sorted(f"{lib.name}={lib.identity()}" for lib in registry.libraries())
        parts += [f"{name}\0{digest}" for name, digest in source_digests(spec).items()]
        parts += ["entries", *spec.entries]
        return PlanStore.make_key(parts)

    def load(self, key: str, registry: Registry) -> Plan | None:
        payload = self.store.load(key)
        if payload is None:
            return None
        try:
            return _decode_plan(payload, registry, self.workspace)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self.store.warnings.append(f"warning: ignoring a cached plan: unreadable content ({exc}); planning afresh")
            return None

    @staticmethod
    def recording(inner: SelectorCall, started_ns: int) -> _Recorder:
        return _Recorder(inner, started_ns)

    def save(self, key: str, plan: Plan, recorder: _Recorder, registry: Registry, load_failed: bool) -> str | None:
        """Store `plan`; returns why it was not stored, or None."""
        why = recorder.unfit or ("a plugin failed to load" if load_failed else None) or _unfit(plan, registry)
        if why is not None:
            return why
        try:
            self.store.save(key, _encode_plan(plan), recorder.inputs)
        except Uncacheable as exc:
            return str(exc)
        except OSError as exc:
            return f"cannot write the plan: {exc.strerror or exc}"
        return None


def _file_digest(path: str | None) -> str:
    if not path:
        return "none"
    try:
        with open(path, "rb") as fh:
            return hash_bytes(fh.read())
    except OSError:
        return "unreadable"


def _unfit(plan: Plan, registry: Registry) -> str | None:
    if any(d.severity is Severity.ERROR for d in plan.diagnostics):
        return "planning reported errors"
    for check in plan.checks:
        if check.error is not None:
            return "a check's arguments failed to evaluate"
        if check.library is not None and registry.get(check.library.name) is not check.library:
            return f"library {check.library.name} is not in the registry under its name"
    return None


# ---------------------------------------------------------------------------------------------- JSON


class _Values:
    """Values in a compact JSON: each Scope object written once (a plan's thousands of checks share a few
    scopes, so the JSON stays proportional to the scopes and the loaded plan shares them again), its paths
    as one directory prefix and names. A bare JSON integer refers to a scope (hielements integers are
    written tagged, `{"Int": n}`); strings, booleans and null stand for themselves; arrays are lists."""

    def __init__(self) -> None:
        self.table: list[Any] = []
        self._index: dict[int, int] = {}
        self._keep: list[Scope] = []

    def encode(self, value: Value) -> Any:
        if isinstance(value, Scope):
            known = self._index.get(id(value))
            if known is None:
                known = self._index[id(value)] = len(self.table)
                self.table.append(_encode_scope(value))
                self._keep.append(value)  # ids stay unique while encoding
            return known
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        return encode_value(value)


def _encode_scope(scope: Scope) -> list[Any]:
    paths = scope.paths
    # Character-wise, then cut back to the last separator: also right for paths of different depths.
    prefix = os.path.commonprefix(list(paths)) if paths else ""  # noqa: RUF071
    prefix = prefix[:prefix.rfind("/") + 1]
    cut = len(prefix)
    return [scope.kind.tag.value, scope.kind.text, scope.resolved, prefix, [p[cut:] for p in paths]]


def _decoder(table: list[Any]) -> Callable[[Any], Value]:
    tags = {tag.value: tag for tag in ScopeKindTag}
    scopes = [Scope(ScopeKind(tags[tag], text), tuple([prefix + n for n in names]), bool(resolved))
              for tag, text, resolved, prefix, names in table]

    def decode(data: Any) -> Value:
        if data is None or isinstance(data, (bool, str)):
            return data
        if isinstance(data, int):
            return scopes[data]
        if isinstance(data, list):
            return [decode(v) for v in data]
        return decode_value(data)

    return decode


def _encode_plan(plan: Plan) -> dict[str, Any]:
    values = _Values()
    strings: dict[str, int] = {}

    def ref(text: str | None) -> int:
        # Check texts, files, library and function names repeat across thousands of checks.
        return -1 if text is None else strings.setdefault(text, len(strings))

    checks = [
        [c.element, c.index, ref(c.text), ref(c.spec_file), ref(c.span.file), *c.span[1:],
         ref(c.library.name if c.library is not None else None), ref(c.function),
         [values.encode(a) for a in c.args], c.skipped]
        for c in plan.checks
    ]
    store = plan.scopes
    scopes = [[key, values.encode(store.get(key))] for key in store.history()]
    inputs = [
        [key, sorted(ctx.deps), sorted([t.root, list(t.suffixes), list(t.exclude)] for t in ctx.trees), ctx.output,
         ctx.notes]
        for key, ctx in plan.scope_inputs.items()
    ]
    diagnostics = [[d.code, d.severity.value, d.message, list(d.span), d.help, d.context] for d in plan.diagnostics]
    return {"values": values.table, "strings": list(strings), "checks": checks, "scopes": scopes,
            "inputs": inputs, "diagnostics": diagnostics}


def _decode_plan(payload: dict[str, Any], registry: Registry, workspace: str) -> Plan:
    decode = _decoder(payload["values"])
    strings: list[str] = payload["strings"]
    libraries: dict[int, Library] = {}
    plan = Plan()
    append = plan.checks.append
    for element, index, text, spec_file, file, line, column, end_line, end_column, lib, function, args, skipped \
            in payload["checks"]:
        library = None
        if lib >= 0:
            library = libraries.get(lib)
            if library is None:
                library = registry.get(strings[lib])
                if library is None:
                    raise KeyError(f"library {strings[lib]}")
                libraries[lib] = library
        append(PlannedCheck(element, index, strings[text], strings[spec_file],
                            Span(strings[file], line, column, end_line, end_column), library, strings[function],
                            [decode(a) for a in args], None, skipped))
    for key, value in payload["scopes"]:
        plan.scopes.put(key, decode(value))
    for key, deps, trees, output, notes in payload["inputs"]:
        plan.scope_inputs[key] = CallContext(workspace, set(deps),
                                             {TreeDep(r, tuple(s), tuple(e)) for r, s, e in trees}, output, notes)
    plan.diagnostics = [Diagnostic(code, Severity(sev), message, Span(*span), help_text, context)
                        for code, sev, message, span, help_text, context in payload["diagnostics"]]
    return plan
