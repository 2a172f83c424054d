"""The library interface every kind of library implements: built-in, external process and WASM.

A `.hie` file never knows which kind serves `lib.fn(...)`; the interpreter only sees `Library`.
Besides the upstream interface (call, check, documentation) a library tells the incremental engine who it
is (`identity`) and how its results may be reused (`purity`), and reports what it read through the
`CallContext` it is handed, so verdicts can be replayed only when none of those inputs changed.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from hie_tasks.model.choice import StrChoice
from hie_tasks.model.record import FrozenRecord, Record
from hie_tasks.model.values import CheckResult, Value

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any


class Purity(StrChoice):
    """How a library's answers may be reused between runs."""

    #: The answer depends only on the arguments (e.g. a wasm plugin with fs="none" and no env).
    PURE = "pure"
    #: The answer depends on the arguments plus workspace files: the Scope paths' contents and whatever the
    #: call records in its CallContext (deps, trees).
    READS_WORKSPACE = "reads_workspace"
    #: Never replay (e.g. fs="write" plugins, or env access to the whole host environment).
    IMPURE = "impure"


class TreeDep(FrozenRecord):
    """A directory listing a call depended on: every file below `root` whose name ends in one of `suffixes`
    (empty = every file), not entering directories named in `exclude`. Adding or removing such a file
    changes the answer even though no file the call read changed."""

    __slots__ = ("root", "suffixes", "exclude")

    root: str
    suffixes: tuple[str, ...]
    exclude: tuple[str, ...]

    def __init__(self, root: str, suffixes: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> None:
        self.root = root
        self.suffixes = suffixes
        self.exclude = exclude


class CallContext(Record):
    """Per-call side channel. Libraries record what they read; plugins' captured output lands here."""

    __slots__ = ("workspace", "deps", "trees", "output", "notes")

    workspace: str
    deps: set[str]
    trees: set[TreeDep]
    output: list[str]
    # Free-form notes for `explain` and verbose output (e.g. "module loaded from cache").
    notes: list[str]

    def __init__(self, workspace: str, deps: set[str] | None = None, trees: set[TreeDep] | None = None,
                 output: list[str] | None = None, notes: list[str] | None = None) -> None:
        self.workspace = workspace
        self.deps = set() if deps is None else deps
        self.trees = set() if trees is None else trees
        self.output = [] if output is None else output
        self.notes = [] if notes is None else notes

    def record_dep(self, path: str) -> None:
        self.deps.add(path)

    def record_tree(self, root: str, suffixes: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> None:
        self.trees.add(TreeDep(root, suffixes, exclude))

    def record_output(self, text: str) -> None:
        if text:
            self.output.append(text)


class ParamDoc(FrozenRecord):
    __slots__ = ("name", "param_type", "description")

    name: str
    param_type: str
    description: str

    def __init__(self, name: str, param_type: str, description: str) -> None:
        self.name = name
        self.param_type = param_type
        self.description = description

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "param_type": self.param_type, "description": self.description}


class FunctionDoc(FrozenRecord):
    __slots__ = ("name", "description", "parameters", "return_type", "example")

    name: str
    description: str
    parameters: tuple[ParamDoc, ...]
    return_type: str
    example: str

    def __init__(self, name: str, description: str, parameters: tuple[ParamDoc, ...] = (), return_type: str = "",
                 example: str = "") -> None:
        self.name = name
        self.description = description
        self.parameters = parameters
        self.return_type = return_type
        self.example = example

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": [p.to_json() for p in self.parameters],
            "return_type": self.return_type,
            "example": self.example,
        }


class LibraryDoc(FrozenRecord):
    __slots__ = ("name", "description", "version", "functions", "checks")

    name: str
    description: str
    version: str
    functions: tuple[FunctionDoc, ...]
    checks: tuple[FunctionDoc, ...]

    def __init__(self, name: str, description: str, version: str, functions: tuple[FunctionDoc, ...] = (),
                 checks: tuple[FunctionDoc, ...] = ()) -> None:
        self.name = name
        self.description = description
        self.version = version
        self.functions = functions
        self.checks = checks

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "functions": [f.to_json() for f in self.functions],
            "checks": [c.to_json() for c in self.checks],
        }


class Library(ABC):
    """One library as the interpreter sees it.

    `call` serves selectors (`scope s = lib.fn(...)`, nested calls in arguments) and returns a Value;
    `check` serves `check lib.fn(...)` and returns a CheckResult. Both raise `LibraryError` for failures
    (the interpreter turns that into a diagnostic or an Error verdict). Implementations must be safe to
    call from several threads; `lock` is there for those that are not (an external process serves one
    request at a time).
    """

    #: "builtin" | "external" | "wasm"
    kind: str = "builtin"

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()

    @abstractmethod
    def call(self, function: str, args: list[Value], ctx: CallContext) -> Value: ...

    @abstractmethod
    def check(self, function: str, args: list[Value], ctx: CallContext) -> CheckResult: ...

    @abstractmethod
    def documentation(self) -> LibraryDoc: ...

    @abstractmethod
    def identity(self) -> str:
        """A string that changes whenever the library's behaviour may change (code digest, version,
        configuration that affects answers). Part of every fingerprint of a call into this library."""

    def identity_files(self) -> tuple[str, ...]:
        """Absolute paths of the files whose contents `identity` covers (a plugin's module, program and
        scripts): a whole-run replay (hie_tasks/replay) stats them instead of asking for the identity."""
        return ()

    def identity_absent(self) -> tuple[str, ...]:
        """Absolute paths that must go on naming no file for `identity` to stay as it is (a program looked
        up on PATH)."""
        return ()

    def purity(self) -> Purity:
        return Purity.READS_WORKSPACE

    def begin_run(self) -> None:  # noqa: B027 - a no-op default: most libraries keep nothing between runs
        """A run (planning, or running checks without a new plan) starts: forget what may be stale."""

    def close(self) -> None:  # noqa: B027 - a no-op default: most libraries hold nothing to release
        """Release processes, instances and other resources at the end of a run."""
