"""What the three built-in libraries share: dispatch by name, identity, purity and unknown-name errors."""

from __future__ import annotations

import sys

from hie_tasks.libraries.base import CallContext, Library, LibraryDoc, Purity
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Scope, Value

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import ClassVar, TypeAlias

    SelectorFn: TypeAlias = Callable[[Sequence[Value], CallContext], Scope]
    CheckFn: TypeAlias = Callable[[Sequence[Value], CallContext], CheckResult]

#: A failing check names at most this many offending lines (the message is upstream's, unchanged).
MAX_LOCATIONS = 50


class BuiltinLibrary(Library):
    """A stateless library implemented in this process; safe to call from several threads."""

    kind = "builtin"

    #: The name specs use (`files`, `python`, `rust`); also what unknown-name messages mention.
    canonical_name: ClassVar[str]
    #: Bump whenever a verdict, a message or a selector's paths could change: it invalidates cached results.
    semantics_version: ClassVar[int]
    selectors: ClassVar[Mapping[str, SelectorFn]]
    checks: ClassVar[Mapping[str, CheckFn]]
    #: (code, message for an unknown selector, message for an unknown check); `{}` is the function name.
    unknown: ClassVar[tuple[str, str, str]]

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name or self.canonical_name)

    def call(self, function: str, args: list[Value], ctx: CallContext) -> Value:
        selector = self.selectors.get(function)
        if selector is None:
            code, message, _ = self.unknown
            raise LibraryError(code, message.format(function))
        return selector(args, ctx)

    def check(self, function: str, args: list[Value], ctx: CallContext) -> CheckResult:
        check = self.checks.get(function)
        if check is None:
            code, _, message = self.unknown
            raise LibraryError(code, message.format(function))
        return check(args, ctx)

    def documentation(self) -> LibraryDoc:
        # Imported when asked for (`describe`, `doc`): building the three libraries' documentation is most
        # of what loading a built-in would otherwise cost a run.
        from hie_tasks.libraries.builtin.docs import DOCS

        return DOCS[self.canonical_name]

    def identity(self) -> str:
        return f"builtin:{self.canonical_name}:{self.semantics_version}"

    def purity(self) -> Purity:
        return Purity.READS_WORKSPACE

    def begin_run(self) -> None:
        # A source cache whose module is not loaded yet holds nothing to forget; `files` checks never load it.
        cache = sys.modules.get("hie_tasks.libraries.builtin.sourcecache")
        if cache is not None:
            cache.SOURCES.begin_run()
