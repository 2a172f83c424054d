"""Shared fixtures for the incremental layer's tests: a small real workspace on disk and check parts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hie_tasks.incremental.fingerprint import FingerprintParts
from hie_tasks.model.values import Scope, ScopeKind, Value


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache = str(root / ".hie-cache")

    def write(self, rel: str, text: str) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)

    def path(self, rel: str) -> str:
        return str(self.root / rel)

    def scope(self, folder: str) -> Scope:
        base = self.root / folder
        paths = sorted(str(p) for p in base.rglob("*") if p.is_file())
        return Scope(ScopeKind.folder(folder), tuple(paths), True)

    def parts(self, *args: Value, **changes: object) -> FingerprintParts:
        base = FingerprintParts(
            text="files.exists(src, 'a.py')", spec_file="arch.hie", line=3, library="files",
            identity="files@1", function="exists", args=list(args), workspace=str(self.root),
        )
        return base.replace(**changes)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path / "ws")
    w.write("src/a.py", "import os\n")
    w.write("src/b.py", "print('b')\n")
    w.write("cfg.toml", "x = 1\n")
    return w


@pytest.fixture
def read_log() -> tuple[list[str], Callable[[str], None]]:
    log: list[str] = []
    return log, log.append
