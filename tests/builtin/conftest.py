"""Helpers for the built-in library tests: real source trees written into tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.builtin import FilesLibrary, PythonLibrary, RustLibrary
from hie_tasks.model.values import CheckResult, Scope, Status, Value

Tree = dict[str, "str | bytes"]


def write_tree(root: Path, tree: Tree) -> Path:
    for rel, content in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            # newline="" so the test controls line endings byte for byte.
            path.write_text(content, encoding="utf-8", newline="")
    return root


class Harness:
    """Calls one library against a workspace and remembers the last call's context."""

    def __init__(self, library: FilesLibrary | PythonLibrary | RustLibrary, workspace: Path) -> None:
        self.library = library
        self.workspace = workspace
        self.ctx = CallContext(str(workspace))

    @property
    def ws(self) -> str:
        return str(self.workspace)

    def rel(self, *paths: str) -> tuple[str, ...]:
        return tuple(os.path.join(self.ws, p) for p in paths)

    def call(self, function: str, *args: Value) -> Scope:
        self.ctx = CallContext(self.ws)
        value = self.library.call(function, list(args), self.ctx)
        assert isinstance(value, Scope)
        return value

    def check(self, function: str, *args: Value) -> CheckResult:
        self.ctx = CallContext(self.ws)
        return self.library.check(function, list(args), self.ctx)

    def passes(self, function: str, *args: Value) -> bool:
        result = self.check(function, *args)
        assert result.status is not Status.ERROR, result
        return result.ok


HarnessFactory = Callable[[Tree], Harness]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def _factory(library_type: type[FilesLibrary | PythonLibrary | RustLibrary], ws: Path) -> HarnessFactory:
    def make(tree: Tree) -> Harness:
        write_tree(ws, tree)
        return Harness(library_type(), ws)

    return make


@pytest.fixture
def files_lib(workspace: Path) -> HarnessFactory:
    return _factory(FilesLibrary, workspace)


@pytest.fixture
def python_lib(workspace: Path) -> HarnessFactory:
    return _factory(PythonLibrary, workspace)


@pytest.fixture
def rust_lib(workspace: Path) -> HarnessFactory:
    return _factory(RustLibrary, workspace)
