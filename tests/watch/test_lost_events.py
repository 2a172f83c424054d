"""Lost file events: a real inotify queue overflow, and a dead observer thread.

Both tests delete a file a check needs while its event cannot be delivered; without recovery the watcher
would never notice and keep showing the old verdict.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hie_tasks.watch.loop import LOST_EVENTS_MESSAGE

from .conftest import Harness, reran_set
from .test_watch import ALPHA, fresh_verdicts, setup, verdicts

MAX_QUEUED = Path("/proc/sys/fs/inotify/max_queued_events")


def _inotify_reader_lock(h: Harness) -> threading.Lock:
    """The lock watchdog 7's inotify reader takes after each read: holding it stalls reading, so the
    kernel queue fills up exactly as it does when a burst outpaces the reader."""
    reader = getattr(h.watcher.file_watcher.observer, "_inotify_fd", None)
    lock = getattr(reader, "_lock", None)
    if sys.platform != "linux" or lock is None or not MAX_QUEUED.exists():
        pytest.skip("needs watchdog's inotify backend")
    return lock  # type: ignore[no-any-return]


def assert_recovered(h: Harness, workspace: Path) -> None:
    cycle = h.next_cycle()
    assert cycle.events_lost
    assert h.recorder.messages.count(LOST_EVENTS_MESSAGE) == 1
    # A full cycle, yet the store reruns only what really changed: the checks of alpha's scope.
    assert reran_set(cycle) == ALPHA
    assert verdicts(cycle.report) == fresh_verdicts(workspace)
    assert [o.status.value for o in cycle.reran if o.check == "files.exists(code, 'main.py')"] == ["fail"]


def test_inotify_queue_overflow_triggers_a_full_cycle(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    lock = _inotify_reader_lock(h)
    # Writes alternating between two files are never coalesced by the kernel (it merges only identical
    # consecutive events); enough of them overflow the queue even if the reader took one more buffer first.
    writes = int(MAX_QUEUED.read_text()) + 4096
    fds = [os.open(workspace / name, os.O_WRONLY | os.O_CREAT) for name in ("noise1.txt", "noise2.txt")]
    try:
        with lock:
            for i in range(writes):
                os.write(fds[i % 2], b"n")
            (workspace / "alpha" / "main.py").unlink()  # queued after the overflow: dropped by the kernel
    finally:
        for fd in fds:
            os.close(fd)
    assert_recovered(h, workspace)


def test_reading_files_never_overflows_the_queue(workspace: Path, harness_factory: Callable[[], Harness]) -> None:
    """Our own scans open and close every file: those events are not subscribed to, so however many there
    are while the reader is stalled, the kernel queue keeps room and the next change arrives precisely."""
    setup(workspace)
    noise = workspace / "noise.txt"
    noise.write_text("n\n")
    h = harness_factory()
    h.start()
    lock = _inotify_reader_lock(h)
    opens = 2 * int(MAX_QUEUED.read_text()) + 4096
    with lock:
        for _ in range(opens):
            os.close(os.open(noise, os.O_RDONLY))
        (workspace / "alpha" / "main.py").unlink()
    cycle = h.next_cycle()
    assert not cycle.events_lost
    assert LOST_EVENTS_MESSAGE not in h.recorder.messages
    assert cycle.changed == ["alpha/main.py"]
    assert verdicts(cycle.report) == fresh_verdicts(workspace)


def test_dead_observer_is_restarted_and_triggers_a_full_cycle(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    setup(workspace)
    h = harness_factory()
    h.start()
    dead = h.watcher.file_watcher.observer
    dead.stop()
    dead.join(10)
    (workspace / "alpha" / "main.py").unlink()
    assert_recovered(h, workspace)
    assert h.watcher.file_watcher.observer is not dead
    # The new observer delivers ordinary events again.
    h.write("beta/main.py", "print('again')\n")
    cycle = h.next_cycle()
    assert (cycle.changed, cycle.events_lost) == (["beta/main.py"], False)
    assert reran_set(cycle) == {"beta :: files.exists(code, 'main.py')"}
