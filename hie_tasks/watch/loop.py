"""The long-running part of watch mode: wait for a burst, decide whether it can matter, run a cycle.

`Watcher` is driven without signals so tests and the benchmark can run it in-process: `start()` begins
observing and runs the initial cycle, `run_cycles(max_cycles=…, timeout=…)` processes bursts, and `stop()`
(safe from any thread or a signal handler) makes a waiting `run_cycles` return. `close()` stops the observer
and closes the project, which ends the session and closes the result store.

Lost file events (a kernel queue overflow, a dead observer thread) are never silent: the loop says so in
one line and runs a cycle that reloads and re-plans everything; the incremental store then reruns exactly
the checks whose inputs really changed. The observer's threads are checked between bursts, and a dead
observer is replaced.
"""

from __future__ import annotations

import os
import threading
import time

from hie_tasks.watch.cycle import CycleReport, CycleRunner, ProjectFactory
from hie_tasks.watch.events import Burst, DebounceSettings, FileWatcher
from hie_tasks.watch.ignores import IgnoreTree
from hie_tasks.watch.report import CycleSink

#: Directory names whose churn never matters unless a scope selects files inside them.
ALWAYS_IGNORED = frozenset({".git", "__pycache__"})

LOST_EVENTS_MESSAGE = "file events were lost; re-checking everything"

#: How often (seconds) a waiting loop checks that the observer's threads are still alive.
HEALTH_INTERVAL = 1.0


class Watcher:
    def __init__(
        self, factory: ProjectFactory, sink: CycleSink, *, debounce: DebounceSettings | None = None
    ) -> None:
        self.sink = sink
        self.debounce = debounce or DebounceSettings()
        self.runner = CycleRunner(factory)
        self.workspace = self.runner.workspace
        self.cycles = 0
        #: cycles skipped because nothing in the burst could affect a check
        self.skipped_bursts = 0
        self._stop = threading.Event()
        self._files = FileWatcher(self.workspace, self.runner.excluded_dirs())
        self._ignores = IgnoreTree(self.workspace)
        for path in self._ignores.outside_files():
            self._files.watch_file(path)
        self._started = False
        #: a failed observer restart was reported; say it once, not on every retry
        self._restart_failing = False
        #: held while a burst is taken and its cycle runs, by the loop or by a daemon request (`catch_up`)
        self.lock = threading.RLock()
        self._busy = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> CycleReport:
        """Begin observing, then run and report the initial cycle (events during it start cycle 1)."""
        self._files.start()
        self._started = True
        return self._emit({})

    def stop(self) -> None:
        self._stop.set()
        self._files.pool.wake()

    def close(self) -> None:
        self.stop()
        self._files.stop()
        self.runner.close()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the loop

    def run_cycles(self, max_cycles: int | None = None, timeout: float | None = None) -> int:
        """Run cycles until `max_cycles` more have been reported, `timeout` seconds pass, or `stop()`."""
        if not self._started:
            self.start()
        deadline = None if timeout is None else time.perf_counter() + timeout
        ran = 0
        while not self._stop.is_set() and (max_cycles is None or ran < max_cycles):
            remaining = None if deadline is None else deadline - time.perf_counter()
            if remaining is not None and remaining <= 0:
                break
            self._revive_observer()
            wait = HEALTH_INTERVAL if remaining is None else min(remaining, HEALTH_INTERVAL)
            if not self._files.pool.wait_burst(self.debounce, self._stop, wait):
                continue
            with self.lock:
                burst = self._files.pool.drain()
                if burst is not None and self._handle(burst):
                    ran += 1
        return ran

    @property
    def busy(self) -> bool:
        """A cycle is running (what Ctrl-C must interrupt rather than wait for)."""
        return self._busy

    def _handle(self, burst: Burst) -> bool:
        """Run the cycle a burst calls for (the lock is held); False when nothing in it can matter."""
        changed, relevant = self.select(burst)
        if burst.lost:
            self.sink.message(LOST_EVENTS_MESSAGE)
        elif not relevant:
            self.skipped_bursts += 1
            return False
        self._emit(changed, burst.lost)
        return True

    def wait_stopped(self) -> None:
        """Serve without cycling on bursts (the daemon): changes only gather in the journal, to be taken by
        `catch_up` when a request comes; meanwhile only the observer's health is looked after."""
        while not self._stop.is_set():
            with self.lock:
                self._revive_observer()
            self._stop.wait(HEALTH_INTERVAL)

    def catch_up(self, extra: dict[str, bool] | None = None, lost: bool = False) -> bool:
        """Bring the state up to every change made before this call, without waiting for quiet (the lock
        must be held): a barrier makes sure the journal holds them all, then they run as one cycle.

        `extra` adds paths known to have changed by other means (a stat); `lost` forces a full cycle. A
        barrier that does not come back in time counts as lost events. True when a cycle ran.
        """
        if not self._files.barrier():
            lost = True
        burst = self._files.pool.drain() or Burst()
        burst.lost = burst.lost or lost
        for path, is_dir in (extra or {}).items():
            burst.paths.setdefault(path, is_dir)
        if burst.paths or burst.transient or burst.lost:
            return self._handle(burst)
        return False

    def _revive_observer(self) -> None:
        try:
            self._files.revive()
        except OSError as exc:
            if not self._restart_failing:
                self.sink.message(f"cannot restart watching {self.workspace}: {exc}; retrying")
            self._restart_failing = True
        else:
            self._restart_failing = False

    @property
    def file_watcher(self) -> FileWatcher:
        return self._files

    def _emit(self, changed: dict[str, bool], events_lost: bool = False) -> CycleReport:
        self._busy = True
        try:
            report = self.runner.run_cycle(self.cycles, changed, events_lost)
        finally:
            self._busy = False
        self.cycles += 1
        for path in self.runner.control:
            self._files.watch_file(path)
        self.sink.cycle(report)
        return report

    # ------------------------------------------------------------------ which changes matter

    def ignored(self, path: str, is_dir: bool) -> bool:
        rel = os.path.relpath(path, self.workspace)
        if rel.startswith(".."):
            return True
        parts = rel.split(os.sep)
        if any(part in ALWAYS_IGNORED for part in parts):
            return True
        return self._ignores.ignored(path, is_dir)

    def select(self, burst: Burst) -> tuple[dict[str, bool], bool]:
        """The burst's paths worth reporting, and whether any of them can change a verdict."""
        runner, index = self.runner, self.runner.index
        paths = dict(burst.paths)
        for path in burst.transient:
            # Replaced and then deleted within the burst: a real change when the path was an input.
            if index is not None and index.knows(path):
                paths[path] = False
        if burst.lost:
            self._ignores.reset()  # an edit to any ignore file may be among the lost events
        else:
            for path, is_dir in paths.items():
                self._ignores.note_change(path, is_dir)
        # A directory with changes below it is reported through them; on its own it would also make a new
        # directory holding only ignored files count as a change.
        covered = _covered_dirs(paths)
        changed: dict[str, bool] = {}
        relevant = False
        for path, is_dir in paths.items():
            if runner.control_kind(path) is not None or (index is not None and index.affected(path, is_dir)):
                changed[path] = is_dir
                relevant = True
            elif path not in covered and not self.ignored(path, is_dir):
                changed[path] = is_dir
                # Without a trustworthy index (no good spec or config yet, or a scope that failed to
                # evaluate) any visible change might be the fix.
                relevant = relevant or not runner.healthy or (index is not None and index.wildcard)
        return _without_covered_dirs(changed), relevant


def _covered_dirs(paths: dict[str, bool]) -> set[str]:
    """The directories among `paths` with other paths below them."""
    prefixes = [path + os.sep for path, is_dir in paths.items() if is_dir]
    return {p[:-1] for p in prefixes if any(q.startswith(p) for q in paths)}


def _without_covered_dirs(changed: dict[str, bool]) -> dict[str, bool]:
    """A new directory is reported through the files that appeared in it, not as a path of its own."""
    covered = _covered_dirs(changed)
    return {path: is_dir for path, is_dir in changed.items() if path not in covered} if covered else changed
