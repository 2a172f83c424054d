"""File events from watchdog, gathered into debounced bursts of net changes.

A burst starts with the first event and ends after a quiet period with no new event or, during a
never-ending stream of events, after a maximum length (default 2 s) so a busy build cannot starve the checks
forever. The quiet period adapts to the burst: it starts at 20 ms, so a single save is handled at once, and
grows with the time the burst has already lasted, up to 150 ms, so a checkout or a build writing files for a
while is still coalesced into one cycle (a stream that has gone on for 100 ms is likely to go on). An editor's atomic save (write `x.tmp`, rename it over `x`, touch `x`) is a handful of
events within a few milliseconds; inside one burst it collapses to one change of `x`: a path whose first
event in the burst created it and that no longer exists when the burst ends came and went, and is dropped.

Only events that can mean "contents or listing changed" are subscribed to (watchdog's `event_filter`,
which also narrows the inotify mask): create, delete, modify/attrib, move and close-after-write. Opens and
read-only closes are never asked for — the checks and our own directory scans read every file, and at
100k files those events alone overflowed the kernel queue, which made every cycle trigger a full next one. The caller's own output directories (result store, module cache) are dropped at the source for
the same reason.

Events can also be lost: the kernel drops them when its queue overflows (watchdog 7 on Linux then only
logs a warning from its inotify reader and rebuilds its watches; no event reaches a handler), or an
observer thread dies. Either marks the pool "lost", and the next burst says so instead of going stale.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from watchdog.events import (
    EVENT_TYPE_ATTRIB,
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

#: The longest quiet period (a long burst); `--debounce-ms` sets it.
DEFAULT_QUIET_MS = 150
#: The shortest quiet period (a burst that has just started: one save).
DEFAULT_MIN_QUIET_MS = 20
DEFAULT_MAX_MS = 2000

#: What watchdog is asked for. Directory "modified" (a listing changed) is left out: the entries' own
#: created/deleted/moved events say which, and asking for it would add IN_CLOSE_WRITE of every directory.
EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent, DirCreatedEvent, FileDeletedEvent, DirDeletedEvent, FileModifiedEvent, FileAttribEvent,
    FileMovedEvent, DirMovedEvent, FileClosedEvent,
]

#: A path that appeared in the burst (created, or renamed onto).
_APPEARED = "appeared"
_TOUCHED = "touched"

_CHANGE_TYPES = frozenset(
    {EVENT_TYPE_CREATED, EVENT_TYPE_DELETED, EVENT_TYPE_MODIFIED, EVENT_TYPE_MOVED, EVENT_TYPE_CLOSED, EVENT_TYPE_ATTRIB}
)


@dataclass(frozen=True)
class DebounceSettings:
    #: the longest quiet period that ends a burst
    quiet_ms: int = DEFAULT_QUIET_MS
    max_ms: int = DEFAULT_MAX_MS
    #: the quiet period of a burst that has just begun (None = DEFAULT_MIN_QUIET_MS, capped by `quiet_ms`)
    min_quiet_ms: int | None = None

    def quiet_after(self, lasted_s: float) -> float:
        """The quiet period (seconds) that ends a burst which has been going on for `lasted_s` seconds."""
        longest = self.quiet_ms / 1000
        shortest = min(longest, (DEFAULT_MIN_QUIET_MS if self.min_quiet_ms is None else self.min_quiet_ms) / 1000)
        return min(longest, shortest + lasted_s)


@dataclass
class Burst:
    """The net changes of one burst: absolute path → whether it is (or was) a directory."""

    paths: dict[str, bool] = field(default_factory=dict)
    #: paths created (or renamed onto) in the burst and gone at its end: temp files, unless the caller knows
    #: the path existed before (then it was replaced and deleted, a real change)
    transient: set[str] = field(default_factory=set)
    #: perf_counter() of the burst's first event: where change-to-verdict latency starts
    started: float = 0.0
    #: some file events were lost before or during this burst: `paths` may be incomplete
    lost: bool = False


def _text(path: str | bytes) -> str:
    return os.fsdecode(path)


#: Name prefix of the barrier files `FileWatcher.barrier` creates.
BARRIER_PREFIX = ".hie-barrier-"


class _Collector(FileSystemEventHandler):
    """watchdog's callback side: runs on the observer thread, so it only filters and appends."""

    def __init__(self, pool: EventPool, excluded: tuple[str, ...]) -> None:
        self._pool = pool
        self._excluded = excluded
        #: the directory barrier files are created in (None: no barriers)
        self.barrier_dir: str | None = None

    def _keep(self, path: str) -> bool:
        return not any(path == root or path.startswith(root + os.sep) for root in self._excluded)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGE_TYPES:
            return
        # A directory's "modified" only says its listing changed; the created/deleted events of the entries
        # themselves say which, so it adds nothing but a spurious path.
        if event.is_directory and event.event_type in (EVENT_TYPE_MODIFIED, EVENT_TYPE_ATTRIB, EVENT_TYPE_CLOSED):
            return
        src = _text(event.src_path)
        if self.barrier_dir is not None and os.path.basename(src).startswith(BARRIER_PREFIX):
            if os.path.dirname(src) == self.barrier_dir and event.event_type == EVENT_TYPE_CREATED:
                self._pool.barrier_reached(os.path.basename(src))
            return
        items: list[tuple[str, str, bool]] = []
        if event.event_type == EVENT_TYPE_MOVED:
            items.append((src, _TOUCHED, event.is_directory))
            items.append((_text(event.dest_path), _APPEARED, event.is_directory))
        elif event.event_type == EVENT_TYPE_CREATED:
            items.append((src, _APPEARED, event.is_directory))
        else:
            items.append((src, _TOUCHED, event.is_directory))
        kept = [item for item in items if self._keep(item[0])]
        if kept:
            self._pool.add(kept)


class EventPool:
    """Raw changes waiting to be cut into bursts; filled by the observer thread, drained by the watcher."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        # path → (first kind seen in the current burst, is_dir); insertion order = order of first change
        self._pending: dict[str, tuple[str, bool]] = {}
        self._first = 0.0
        self._last = 0.0
        self._lost = False
        #: barrier files whose creation has been delivered
        self._barriers: set[str] = set()

    def barrier_reached(self, name: str) -> None:
        with self._cond:
            self._barriers.add(name)
            self._cond.notify_all()

    def wait_barrier(self, name: str, timeout: float) -> bool:
        with self._cond:
            reached = self._cond.wait_for(lambda: name in self._barriers, timeout)
            self._barriers.discard(name)
            return reached

    def _arrived(self) -> None:
        """Start or extend the current burst (the lock is held)."""
        now = time.perf_counter()
        if not self._pending and not self._lost:
            self._first = now
        self._last = now

    def add(self, items: Iterable[tuple[str, str, bool]]) -> None:
        with self._cond:
            self._arrived()
            for path, kind, is_dir in items:
                previous = self._pending.get(path)
                if previous is None:
                    self._pending[path] = (kind, is_dir)
                elif is_dir and not previous[1]:
                    self._pending[path] = (previous[0], True)
            self._cond.notify_all()

    def mark_lost(self) -> None:
        """Events were dropped: the next burst (debounced like any other, since an overflow comes from a
        storm of changes that is usually still going on) carries `lost`."""
        with self._cond:
            self._arrived()
            self._lost = True
            self._cond.notify_all()

    def wake(self) -> None:
        """Make a waiting `next_burst` look at its stop event now."""
        with self._cond:
            self._cond.notify_all()

    def next_burst(
        self, settings: DebounceSettings, stop: threading.Event, timeout: float | None = None
    ) -> Burst | None:
        """Wait for a burst and return its net changes; None on `stop` or when `timeout` passes first."""
        if not self.wait_burst(settings, stop, timeout):
            return None
        return self.drain()

    def wait_burst(self, settings: DebounceSettings, stop: threading.Event, timeout: float | None = None) -> bool:
        """Wait until a burst has ended, without taking it; False on `stop` or when `timeout` passes first.

        The burst stays in the pool until `drain`: a caller that must answer from every change so far
        (the daemon) can take it under the same lock as the cycle would.
        """
        deadline = None if timeout is None else time.perf_counter() + timeout
        longest = settings.max_ms / 1000
        with self._cond:
            while not self._pending and not self._lost:
                if stop.is_set():
                    return False
                remaining = None if deadline is None else deadline - time.perf_counter()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            while not stop.is_set():
                now = time.perf_counter()
                quiet = settings.quiet_after(self._last - self._first)
                end = min(self._last + quiet, self._first + longest)
                if now >= end or not (self._pending or self._lost):
                    break
                self._cond.wait(end - now)
            return not stop.is_set()

    def drain(self) -> Burst | None:
        """The changes gathered so far, without waiting for the burst to end (None when there are none).

        For a caller that must answer now from everything that happened before this moment (the daemon,
        after its barrier event arrived): the quiet period only exists to avoid running cycles mid-burst.
        """
        with self._cond:
            if not self._pending and not self._lost:
                return None
            pending, started, lost = self._pending, self._first, self._lost
            self._pending, self._lost = {}, False
        return _net_changes(pending, started, lost)


def _net_changes(pending: dict[str, tuple[str, bool]], started: float, lost: bool) -> Burst:
    burst = Burst(started=started, lost=lost)
    for path, (kind, is_dir) in pending.items():
        if kind == _APPEARED and not os.path.lexists(path):
            burst.transient.add(path)
            continue
        burst.paths[path] = is_dir or os.path.isdir(path)
    return burst


_BARRIER_SEQ = itertools.count()

#: watchdog's observers report a kernel queue overflow only as a warning on (a child of) this logger.
_WATCHDOG_LOGGER = "watchdog.observers"


class _OverflowListener(logging.Handler):
    """Turns watchdog's "queue overflowed" warning into a lost-events mark on the pool.

    Logging is process-wide, so another watcher's overflow marks this pool too: one needless full cycle is
    harmless, a missed overflow is not. Being a handler of its own also keeps watchdog's raw warning off
    the terminal (Python prints it only when no handler exists); the watcher reports the loss itself.
    """

    def __init__(self, pool: EventPool) -> None:
        super().__init__(logging.WARNING)
        self._pool = pool

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._pool.mark_lost()


def _threads(observer: BaseObserver) -> list[threading.Thread]:
    """Every thread the observer relies on: itself, one emitter per watch and, in watchdog 7 on Linux, the
    inotify reader it keeps in a private attribute (found by type, so a dead reader cannot go unnoticed)."""
    owned = [value for value in vars(observer).values() if isinstance(value, threading.Thread)]
    return [observer, *observer.emitters, *owned]


class FileWatcher:
    """A recursive watchdog observer on the workspace, plus single directories outside it (a spec or a
    plugin kept elsewhere), feeding an `EventPool`."""

    def __init__(self, root: str, excluded: Iterable[str] = ()) -> None:
        self.pool = EventPool()
        self._handler = _Collector(self.pool, tuple(os.path.abspath(p) for p in excluded))
        self._root = os.path.abspath(root)
        self._extra: set[str] = set()
        self._listener = _OverflowListener(self.pool)
        self._running = False
        self.observer = self._new_observer()

    def _new_observer(self) -> BaseObserver:
        observer = Observer()
        observer.daemon = True
        observer.schedule(self._handler, self._root, recursive=True, event_filter=EVENT_FILTER)
        for directory in sorted(self._extra):
            if os.path.isdir(directory):
                observer.schedule(self._handler, directory, recursive=False, event_filter=EVENT_FILTER)
        return observer

    def use_barriers(self, directory: str) -> None:
        """Barrier files go to `directory`, which must lie inside the watched workspace and exist before
        `start` (so the recursive watch covers it)."""
        self._handler.barrier_dir = os.path.abspath(directory)

    def barrier(self, timeout: float = 2.0) -> bool:
        """Return once every event of a change made before this call has reached the pool.

        inotify delivers one watch's events in order through one queue: a file created now is reported
        after everything queued before it. So a barrier file is created and its event awaited; False when
        it did not arrive in time (the caller must then treat events as lost).
        """
        directory = self._handler.barrier_dir
        if directory is None:
            return False
        name = f"{BARRIER_PREFIX}{os.getpid()}-{next(_BARRIER_SEQ)}"
        path = os.path.join(directory, name)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError:
            return False
        try:
            return self.pool.wait_barrier(name, timeout)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def watch_file(self, path: str) -> None:
        """Also report changes to `path` when it lies outside the workspace (its directory is watched)."""
        directory = os.path.dirname(os.path.abspath(path))
        if directory == self._root or directory.startswith(self._root + os.sep) or directory in self._extra:
            return
        if os.path.isdir(directory):
            self.observer.schedule(self._handler, directory, recursive=False, event_filter=EVENT_FILTER)
            self._extra.add(directory)

    def start(self) -> None:
        logging.getLogger(_WATCHDOG_LOGGER).addHandler(self._listener)
        self.observer.start()
        self._running = True

    def revive(self) -> bool:
        """Replace the observer if one of its threads has died, marking events lost; True if it had died.

        Raises OSError when a new observer cannot start (the workspace vanished, inotify limits reached);
        the dead one is then replaced again on the next call.
        """
        if not self._running or all(thread.is_alive() for thread in _threads(self.observer)):
            return False
        dead = self.observer
        with contextlib.suppress(Exception):  # a crashed observer may not stop cleanly; it is abandoned anyway
            dead.stop()
        self.observer = self._new_observer()
        self.observer.start()
        # Whatever changed between the death and now was never reported (one mark covers a failed retry too).
        self.pool.mark_lost()
        return True

    def stop(self) -> None:
        self._running = False
        logging.getLogger(_WATCHDOG_LOGGER).removeHandler(self._listener)
        if self.observer.is_alive():
            self.observer.stop()
            self.observer.join(timeout=5)
