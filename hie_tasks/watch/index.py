"""The reverse index: which checks a changed path can affect.

A check's inputs are (1) the files of the Scopes among its arguments, (2) what the selectors that built those
scopes read (files and directory listings, from `Plan.scope_inputs`), and (3) what the check itself read
while it last ran (deps and listings recorded in the result store). A path that touches none of these cannot
change any verdict, so a burst made only of such paths needs no cycle.

Soundness over precision: whenever an input is unknown the index widens instead of narrowing. A Scope that
no recorded selector produced (built by a nested call inside a check's arguments) is covered by the
directory its kind names; a check whose own reads were never recorded (it errored, or its library is
impure) is covered the same way.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hie_tasks.engine.planned import Plan, PlannedCheck
from hie_tasks.engine.runner import check_key
from hie_tasks.incremental.fingerprint import iter_scopes
from hie_tasks.incremental.session import CheckKey
from hie_tasks.libraries.base import CallContext, TreeDep
from hie_tasks.libraries.builtin.glob import literal_directory
from hie_tasks.model.values import Scope, ScopeKindTag


@dataclass(frozen=True)
class CheckInputs:
    """Absolute files and directory listings one check depends on."""

    files: frozenset[str] = frozenset()
    trees: frozenset[TreeDep] = frozenset()


def absolute(workspace: str, path: str) -> str:
    return os.path.normpath(os.path.join(workspace, path))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def tree_covers(tree: TreeDep, path: str, is_dir: bool) -> bool:
    """Whether a change at `path` can change the listing `tree` describes."""
    if is_dir:
        # A directory created, removed or renamed takes all of its files with it: any overlap counts.
        return _under(path, tree.root) or _under(tree.root, path)
    if not _under(path, tree.root) or path == tree.root:
        return False
    parts = os.path.relpath(path, tree.root).split(os.sep)
    if tree.exclude and any(part in tree.exclude for part in parts[:-1]):
        return False
    return not tree.suffixes or parts[-1].endswith(tree.suffixes)


def kind_inputs(scope: Scope, workspace: str) -> CheckInputs:
    """A superset of what any selector of this kind can have read, from the text the spec wrote."""
    tag, text = scope.kind.tag, scope.kind.text
    if tag is ScopeKindTag.FILE:
        return CheckInputs(files=frozenset({absolute(workspace, text)}))
    if tag is ScopeKindTag.FOLDER:
        return CheckInputs(trees=frozenset({TreeDep(absolute(workspace, text))}))
    return CheckInputs(trees=frozenset({TreeDep(literal_directory(workspace, text))}))


def context_inputs(ctx: CallContext) -> CheckInputs:
    ws = ctx.workspace
    return CheckInputs(
        files=frozenset(absolute(ws, d) for d in ctx.deps),
        trees=frozenset(TreeDep(absolute(ws, t.root), t.suffixes, t.exclude) for t in ctx.trees),
    )


def _merge(parts: Iterable[CheckInputs]) -> CheckInputs:
    files: set[str] = set()
    trees: set[TreeDep] = set()
    for part in parts:
        files |= part.files
        trees |= part.trees
    return CheckInputs(frozenset(files), frozenset(trees))


@dataclass
class ReverseIndex:
    workspace: str
    #: path → ordinals into `keys` (small ints: a 10k-file index is rebuilt every cycle, and hashing ints is
    #: several times cheaper than hashing CheckKey dataclasses)
    _files: dict[str, set[int]] = field(default_factory=dict)
    _sorted: list[str] = field(default_factory=list)
    _trees: dict[TreeDep, set[int]] = field(default_factory=dict)
    #: a scope failed to evaluate: what would fix it is unknown, so every change may matter
    wildcard: bool = False
    keys: list[CheckKey] = field(default_factory=list)
    _ordinals: dict[CheckKey, int] = field(default_factory=dict)
    #: inputs outside the workspace (path → is a listing): no recursive watch covers them, so whoever
    #: must not miss a change (the daemon) compares their stat signatures instead
    outside: dict[str, bool] = field(default_factory=dict)

    def add(self, key: CheckKey, inputs: CheckInputs) -> None:
        ordinal = len(self.keys)
        self.keys.append(key)
        self._ordinals[key] = ordinal
        self._add(ordinal, inputs)

    def extend(self, key: CheckKey, inputs: CheckInputs) -> None:
        """Add inputs to a check already indexed (what it read when it ran again); nothing is removed."""
        ordinal = self._ordinals.get(key)
        if ordinal is None:
            self.add(key, inputs)
            self.freeze()
            return
        new_files = any(path not in self._files for path in inputs.files)
        self._add(ordinal, inputs)
        if new_files:
            self.freeze()

    def known_files(self) -> dict[str, set[int]]:
        """Every file some check has as an input (a mapping: membership is all a caller needs)."""
        return self._files

    def _add(self, ordinal: int, inputs: CheckInputs) -> None:
        inside = self.workspace.rstrip(os.sep) + os.sep
        for path in inputs.files:
            if not path.startswith(inside):
                self.outside.setdefault(path, False)
        for tree in inputs.trees:
            if not (tree.root + os.sep).startswith(inside):
                self.outside[tree.root] = True
        files = self._files
        for path in inputs.files:
            bucket = files.get(path)
            if bucket is None:
                files[path] = {ordinal}
            else:
                bucket.add(ordinal)
        for tree in inputs.trees:
            self._trees.setdefault(tree, set()).add(ordinal)

    def freeze(self) -> None:
        self._sorted = sorted(self._files)

    def knows(self, path: str) -> bool:
        """Whether `path` itself is an input (so its disappearance is a real change, and never ignored)."""
        return path in self._files

    def affected(self, path: str, is_dir: bool = False) -> set[CheckKey]:
        found: set[int] = set(self._files.get(path, ()))
        if is_dir:
            prefix = path.rstrip(os.sep) + os.sep
            at = bisect.bisect_left(self._sorted, prefix)
            while at < len(self._sorted) and self._sorted[at].startswith(prefix):
                found |= self._files[self._sorted[at]]
                at += 1
        for tree, ordinals in self._trees.items():
            if not ordinals <= found and tree_covers(tree, path, is_dir):
                found |= ordinals
        return {self.keys[i] for i in found}

    def relevant(self, path: str, is_dir: bool = False) -> bool:
        return self.wildcard or bool(self.affected(path, is_dir))

    def __len__(self) -> int:
        return len(self.keys)


def _scope_sources(plan: Plan) -> dict[Scope, list[CheckInputs]]:
    """Scope value → what the selectors of every scope declaration holding that value read."""
    sources: dict[Scope, list[CheckInputs]] = {}
    for key, ctx in plan.scope_inputs.items():
        inputs = context_inputs(ctx)
        for scope in iter_scopes([plan.scopes.get(key)]):
            sources.setdefault(scope, []).append(inputs)
    return sources


class ScopeInputs:
    """Per-plan memo: checks usually share scopes, and a scope may hold thousands of paths."""

    def __init__(self, workspace: str, sources: Mapping[Scope, list[CheckInputs]]) -> None:
        self.workspace = workspace
        self.sources = sources
        self._memo: dict[Scope, CheckInputs] = {}

    def __call__(self, scope: Scope) -> CheckInputs:
        found = self._memo.get(scope)
        if found is None:
            # Selectors return absolute, normalised paths; only other libraries' relative ones need joining.
            files = frozenset(p if p.startswith(os.sep) else absolute(self.workspace, p) for p in scope.paths)
            selectors = self.sources.get(scope) or [kind_inputs(scope, self.workspace)]
            found = _merge([CheckInputs(files=files), *selectors])
            self._memo[scope] = found
        return found


def plan_scope_inputs(plan: Plan, workspace: str) -> ScopeInputs:
    return ScopeInputs(workspace, _scope_sources(plan))


def check_inputs(planned: PlannedCheck, scope_inputs: ScopeInputs, ran: CheckInputs | None) -> CheckInputs:
    parts: list[CheckInputs] = []
    for scope in iter_scopes(planned.args):
        parts.append(scope_inputs(scope))
        if ran is None:
            parts.append(kind_inputs(scope, scope_inputs.workspace))
    if ran is not None:
        parts.append(ran)
    return parts[0] if len(parts) == 1 else _merge(parts)


def build_index(plan: Plan, workspace: str, ran: Mapping[CheckKey, CheckInputs]) -> ReverseIndex:
    """The index of a plan; `ran` holds each check's own recorded reads (absent = unknown)."""
    index = ReverseIndex(workspace, wildcard=bool(plan.diagnostics))
    scope_inputs = ScopeInputs(workspace, _scope_sources(plan))
    for planned in plan.checks:
        if planned.skipped:
            continue
        key = check_key(planned)
        index.add(key, check_inputs(planned, scope_inputs, ran.get(key)))
    index.freeze()
    return index
