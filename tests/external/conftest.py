"""Fixtures for the external plugin tests: real plugin subprocesses from tests/plugins_py."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hie_tasks.config import ExternalLibraryConfig
from hie_tasks.libraries.external import ExternalLibrary

PLUGINS = Path(__file__).resolve().parent.parent / "plugins_py"
SAMPLE = PLUGINS / "sample_plugin.py"
HOSTILE = PLUGINS / "hostile_plugin.py"

MakeLib = Callable[..., ExternalLibrary]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src" / "pkg").mkdir(parents=True)
    for rel in ("src/a.py", "src/b.py", "src/pkg/c.py"):
        (ws / rel).write_text("x = 1\n")
    return ws


@pytest.fixture
def make_lib(workspace: Path) -> Iterator[MakeLib]:
    """Build ExternalLibrary instances that are always closed at the end of the test."""
    made: list[ExternalLibrary] = []

    def make(*args: str, name: str = "plug", script: Path = HOSTILE, **limits: int) -> ExternalLibrary:
        config = ExternalLibraryConfig(name, sys.executable, (str(script), *args), **limits)
        lib = ExternalLibrary(config, str(workspace))
        made.append(lib)
        return lib

    yield make
    for lib in made:
        lib.close()


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group `pgid`, read from /proc (no psutil)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces; the fields after it are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry))
    return members


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _gone(pgid: int, timeout_s: float = 3.0) -> bool:
    # SIGKILL delivery to grandchildren is asynchronous; give the kernel a moment.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pgid) and not group_members(pgid):
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def assert_gone() -> Callable[[int], None]:
    """Assert that a plugin (by pid, which is also its process group id) and all its descendants are gone."""

    def check(pid: int) -> None:
        assert _gone(pid), f"process group {pid} still has live members: {group_members(pid)}"

    return check
