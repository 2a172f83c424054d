"""A real daemon subprocess (`hie-tasks daemon start`) on a real temporary workspace, with its own private
runtime directory, and the real client as `python -m hie_tasks run` subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hie_tasks.daemon import client

REPO = Path(__file__).resolve().parents[2]
DB_FILES = ("results.sqlite", "results.sqlite-wal")


@dataclass
class Ran:
    code: int
    out: str
    err: str


def strip_durations(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_durations(v) for k, v in value.items() if k != "duration_ms"}
    if isinstance(value, list):
        return [strip_durations(v) for v in value]
    return value


class Daemon:
    def __init__(self, workspace: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.workspace = workspace
        self.runtime = runtime
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HIE_TASKS_")}
        self.env.update({"PYTHONPATH": str(REPO), "XDG_RUNTIME_DIR": str(runtime), "COLUMNS": "200",
                         "HIE_TASKS_MODULE_CACHE": str(workspace.parent / "modcache")})
        # The in-process status queries look for the same socket, with the same identity.
        for key in [k for k in os.environ if k.startswith("HIE_TASKS_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        monkeypatch.setenv("HIE_TASKS_MODULE_CACHE", self.env["HIE_TASKS_MODULE_CACHE"])
        self.pid: int | None = None

    def cli(self, *args: str, standalone: bool = False, timeout: float = 120) -> Ran:
        env = {**self.env, "HIE_TASKS_DAEMON": "0"} if standalone else self.env
        proc = subprocess.run([sys.executable, "-m", "hie_tasks", *args], cwd=self.workspace, env=env,
                              capture_output=True, text=True, timeout=timeout)
        return Ran(proc.returncode, proc.stdout, proc.stderr)

    def start(self) -> None:
        started = self.cli("daemon", "start")
        assert started.code == 0, started.err
        self.pid = int(self.status()["pid"])

    def status(self) -> dict[str, Any]:
        answer = client.request(str(self.workspace), str(self.workspace / "hielements.hie"), "status", timeout=30)
        assert answer is not None and answer["status"] == "ok", answer
        return answer

    def served(self) -> int:
        return int(self.status()["served"])

    def snapshot_store(self, into: Path) -> Path:
        """A copy of the result store as it is now (the daemon is idle between requests)."""
        if into.exists():
            shutil.rmtree(into)
        into.mkdir()
        for name in DB_FILES:
            source = self.workspace / ".hie-cache" / name
            if source.exists():
                shutil.copy2(source, into / name)
        return into

    def stop(self) -> None:
        self.cli("daemon", "stop")
        if self.pid is not None:
            # Whatever is left of it (a plugin it started), by its process group: start made it a session.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def json_of(ran: Ran) -> Any:
    assert ran.out, ran.err
    return strip_durations(json.loads(ran.out))


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def daemon_factory(tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    made: list[Daemon] = []

    def make(workspace: Path) -> Daemon:
        d = Daemon(workspace, runtime, monkeypatch)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()
