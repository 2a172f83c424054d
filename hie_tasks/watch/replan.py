"""Re-planning only what a change can affect: built-in selector answers kept across plans.

A plan is the spec walked once with every selector answered. Between two cycles most selectors' answers
cannot have changed: `files.folder_selector('pkg7')` lists `pkg7` and nothing else. `SelectorMemo` is the
interpreter's selector hook for watch and the daemon; it keeps each built-in selector's answer together
with what the call read (files and directory listings, recorded through `CallContext`) and drops exactly the
answers a burst of changes can affect:

- a path the selector read as a file (contents or existence) changed in any way;
- a listing the selector read changed — a path appeared or disappeared below it (an entry that already
  was an input and is still a file is a content edit: it leaves every listing as it was);
- a directory appeared, disappeared or was renamed over anything the selector read.

When nothing was dropped the previous plan is still the plan (its scopes hold the same values), so a save of
a file costs no re-plan at all. When something was dropped the spec is walked again and only the dropped
selectors are called; the others answer from memory.

Only built-ins are kept: they record everything they read. A plugin's selector is called through the
normal path (the result store's selector cache) on every re-plan, and its presence makes every change
re-walk the spec, since what it read is not known.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from hie_tasks.engine.interpreter import SelectorCall
from hie_tasks.incremental.fingerprint import iter_scopes
from hie_tasks.libraries.base import CallContext, Library, TreeDep
from hie_tasks.model.codec import dumps_canonical, encode_value
from hie_tasks.model.values import Value
from hie_tasks.watch.index import tree_covers


@dataclass(frozen=True)
class Change:
    """One changed path, as far as listings are concerned."""

    path: str
    is_dir: bool
    #: the set of names in some directory may have changed (an entry appeared, disappeared, changed type)
    listing: bool


def classify(changed: dict[str, bool], listed: Iterable[str]) -> list[Change]:
    """`changed` (path → is_dir) as Changes; `listed` are the files the kept selector answers list (so
    they existed when the plan was made — not merely files some check asked about).

    A listed file that still is a file was edited in place: no listing changed. Anything else — a new
    path, a path gone, a directory — may have changed a listing.
    """
    known_set = listed if isinstance(listed, (set, frozenset, dict)) else set(listed)
    out: list[Change] = []
    for path, is_dir in changed.items():
        edited = not is_dir and path in known_set and os.path.isfile(path)
        out.append(Change(path, is_dir, listing=not edited))
    return out


@dataclass
class _Answer:
    value: Value
    deps: frozenset[str]
    trees: frozenset[TreeDep]
    output: tuple[str, ...]
    #: the files the answer lists (its Scopes' paths)
    paths: frozenset[str]

    def affected_by(self, change: Change) -> bool:
        path = change.path
        if path in self.deps:
            return True
        if change.is_dir:
            prefix = path.rstrip(os.sep) + os.sep
            if any(dep.startswith(prefix) for dep in self.deps):
                return True
        if not change.listing:
            return False
        return any(tree_covers(tree, path, change.is_dir) for tree in self.trees)


class SelectorMemo:
    """Built-in selector answers across plans, dropped by the changes that can affect them."""

    def __init__(self, inner: SelectorCall) -> None:
        #: how selectors not kept here are answered (the store-backed hook of the project)
        self.inner = inner
        self._answers: dict[tuple[str, str, str, str], _Answer] = {}
        self._listed: set[str] | None = None
        #: the last plan called a selector whose reads are unknown (a plugin): any change may affect it
        self.opaque = False
        #: selector calls that really ran in the last plan (the rest answered from memory)
        self.evaluated = 0

    def begin_plan(self) -> None:
        self.opaque = False
        self.evaluated = 0

    def clear(self) -> None:
        self._answers.clear()
        self._listed = None

    def listed(self) -> set[str]:
        """Every file the kept answers list."""
        if self._listed is None:
            self._listed = set().union(*(answer.paths for answer in self._answers.values()))
        return self._listed

    def __len__(self) -> int:
        return len(self._answers)

    def __call__(self, library: Library, function: str, args: list[Value], ctx: CallContext) -> Value:
        if library.kind != "builtin":
            self.opaque = True
            return self.inner(library, function, args, ctx)
        key = (library.name, library.identity(), function, dumps_canonical([encode_value(a) for a in args]))
        answer = self._answers.get(key)
        if answer is None:
            # Called directly (not through the store's selector cache): a replayed answer would not say what
            # it read, and what it read is what lets a later change drop it.
            inner = CallContext(ctx.workspace)
            value = library.call(function, args, inner)
            listed = frozenset(p for scope in iter_scopes([value]) for p in scope.paths)
            answer = _Answer(value, frozenset(inner.deps), frozenset(inner.trees), tuple(inner.output), listed)
            self._answers[key] = answer
            self._listed = None
            self.evaluated += 1
        ctx.deps |= answer.deps
        ctx.trees |= answer.trees
        ctx.output.extend(answer.output)
        return answer.value

    def invalidate(self, changes: list[Change]) -> int:
        """Drop every answer a change can affect; how many were dropped."""
        if not changes:
            return 0
        dropped = [key for key, answer in self._answers.items() if any(answer.affected_by(c) for c in changes)]
        for key in dropped:
            del self._answers[key]
        if dropped:
            self._listed = None
        return len(dropped)
