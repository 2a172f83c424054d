"""A real watcher on a real temporary workspace, its loop on a background thread, cycles collected."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hie_tasks.engine.project import Project, ProjectOptions
from hie_tasks.engine.runner import RunOptions
from hie_tasks.watch.cycle import CycleReport
from hie_tasks.watch.events import DebounceSettings
from hie_tasks.watch.loop import Watcher

#: Generous: a loaded CI machine may take seconds to deliver an event, but passing runs never wait this long.
TIMEOUT = 30.0


class Recorder:
    def __init__(self) -> None:
        self.cycles: list[CycleReport] = []
        self.messages: list[str] = []
        self._cond = threading.Condition()

    def cycle(self, report: CycleReport) -> None:
        with self._cond:
            self.cycles.append(report)
            self._cond.notify_all()

    def message(self, text: str) -> None:
        self.messages.append(text)

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> CycleReport:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.cycles) >= count, timeout):
                raise AssertionError(f"expected {count} cycles within {timeout}s, got {len(self.cycles)}")
            return self.cycles[count - 1]


def poll(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class Harness:
    def __init__(self, workspace: Path, spec: str = "hielements.hie") -> None:
        self.workspace = workspace
        self.spec = str(workspace / spec)
        self.recorder = Recorder()
        options = ProjectOptions(module_cache_dir=str(workspace.parent / "modcache"), run=RunOptions(jobs=2))
        self.watcher = Watcher(lambda: Project(self.spec, options), self.recorder,
                               debounce=DebounceSettings(quiet_ms=150))
        self._thread: threading.Thread | None = None

    def start(self) -> CycleReport:
        initial = self.watcher.start()
        self._thread = threading.Thread(target=self.watcher.run_cycles, daemon=True)
        self._thread.start()
        return initial

    def write(self, rel: str, text: str) -> Path:
        path = self.workspace / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def next_cycle(self) -> CycleReport:
        return self.recorder.wait_for(len(self.recorder.cycles) + 1)

    def stop(self) -> None:
        self.watcher.close()
        if self._thread is not None:
            self._thread.join(TIMEOUT)
            assert not self._thread.is_alive(), "run_cycles did not return after close()"


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def harness_factory(workspace: Path) -> Iterator[Callable[[], Harness]]:
    made: list[Harness] = []

    def make() -> Harness:
        h = Harness(workspace)
        made.append(h)
        return h

    yield make
    for h in made:
        h.stop()


def reran_set(report: CycleReport) -> set[str]:
    return {f"{o.element} :: {o.check}" for o in report.reran}


def utime_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
