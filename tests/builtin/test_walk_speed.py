"""Walk speed on a generated repository: 10k source files plus a `.git` with 10k objects."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.builtin import FilesLibrary, PythonLibrary
from hie_tasks.model.values import Scope

SOURCE_DIRS, FILES_PER_DIR = 100, 100


def generate(root: Path) -> int:
    for d in range(SOURCE_DIRS):
        pkg = root / "src" / f"pkg{d}"
        pkg.mkdir(parents=True)
        for f in range(FILES_PER_DIR):
            (pkg / f"m{f}.py").write_text("x = 1\n")
    for d in range(256):
        objects = root / ".git" / "objects" / f"{d:02x}"
        objects.mkdir(parents=True)
        for f in range(40):
            (objects / f"{f:038x}").write_bytes(b"blob")
    return SOURCE_DIRS * FILES_PER_DIR + 256 * 40


@pytest.mark.slow
def test_folder_selector_dot_is_fast(tmp_path: Path) -> None:
    total = generate(tmp_path)
    ctx = CallContext(str(tmp_path))
    started = time.perf_counter()
    scope = FilesLibrary().call("folder_selector", ["."], ctx)
    elapsed = time.perf_counter() - started
    assert isinstance(scope, Scope)
    assert len(scope.paths) == total
    print(
        f"\nfolder_selector('.'): {total} files in {elapsed * 1000:.0f} ms = {total / elapsed:,.0f} files/s"
    )
    # A loose bound that still catches a per-file stat or a quadratic sort on a shared 2-core machine.
    assert elapsed < 2.0

    started = time.perf_counter()
    modules = PythonLibrary().call("module_selector", ["m7"], ctx)
    elapsed = time.perf_counter() - started
    assert isinstance(modules, Scope) and len(modules.paths) == SOURCE_DIRS
    print(f"python.module_selector (prunes .git): {elapsed * 1000:.0f} ms")
