"""Source texts and workspace walks shared by every built-in call, within a run and across runs.

Every `python`/`rust` selector walks the workspace for its extension and tests each file's text; every check
tests the texts of its scopes. Upstream re-walks and re-reads for each call, so a spec with 100 selectors over
a 100-file tree reads 10,000 files. Here each file is read once and each walk made once per run; a long-lived
process (watch, the daemon) keeps texts between runs and re-reads a file only when its stat signature changed.

Run boundaries come from `begin_run()` (the project calls it before planning and before running checks):
- walks are forgotten at every boundary (a new file must be seen by the next run);
- a text is reused across a boundary only if its (size, mtime, ctime, inode) is unchanged and the file had
  not been modified within `RACY_WINDOW_NS` of when it was read — a rewrite inside one timestamp tick keeps
  the signature, so such "racy" texts are trusted for the run that read them only (the rule git uses);
- within a run a text, once read, is trusted without another `stat`: files changing under a running check
  are as undefined here as upstream.

Memory is bounded: past `MAX_CACHED_BYTES` of text, new texts are read and returned but not kept.
"""

from __future__ import annotations

import os
import stat
import threading
import time

from hie_tasks.libraries.builtin.walk import WalkRules, walk_files
from hie_tasks.model.record import Record

#: A file modified this recently before it was read may change again without changing its signature.
RACY_WINDOW_NS = 2_000_000_000
#: Upper bound on the text kept in memory (characters, ≈ bytes for source code).
MAX_CACHED_BYTES = 256 << 20

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)

Signature = tuple[int, int, int, int, int]


class _Text(Record):
    __slots__ = ("signature", "text", "racy", "run")

    signature: Signature
    text: str | None
    racy: bool
    #: The run in which the signature was last confirmed; inside that run no `stat` is needed.
    run: int

    def __init__(self, signature: Signature, text: str | None, racy: bool, run: int) -> None:
        self.signature = signature
        self.text = text
        self.racy = racy
        self.run = run


def _signature(info: os.stat_result) -> Signature:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def read_text_signed(path: str) -> tuple[str | None, Signature | None]:
    """The whole file as strict UTF-8 (None if unreadable, not a regular file or not UTF-8), and the stat
    signature of what was read (None when nothing was opened).

    O_NONBLOCK and the fstat check keep a FIFO named `x.py` from blocking the run.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return None, None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, _signature(info)
        chunks: list[bytes] = []
        # One read of the whole file in the common case; the loop covers files that grow meanwhile.
        size = info.st_size + 1
        while True:
            chunk = os.read(fd, size)
            if not chunk:
                break
            chunks.append(chunk)
            if len(chunk) < size:
                break  # A short read of a regular file is its end.
            size = 1 << 20
    except OSError:
        return None, None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8"), _signature(info)
    except UnicodeDecodeError:
        return None, _signature(info)


class SourceCache:
    """Texts by path and walks by (root, rules); safe to use from the runner's threads."""

    def __init__(self, max_bytes: int = MAX_CACHED_BYTES) -> None:
        self._lock = threading.Lock()
        self._run = 0
        self._texts: dict[str, _Text] = {}
        self._walks: dict[tuple[str, WalkRules], list[str]] = {}
        self._bytes = 0
        self._max_bytes = max_bytes

    def begin_run(self) -> None:
        with self._lock:
            self._run += 1
            self._walks.clear()
            for path in [p for p, entry in self._texts.items() if entry.racy]:
                self._forget(path)

    def clear(self) -> None:
        with self._lock:
            self._texts.clear()
            self._walks.clear()
            self._bytes = 0

    def walk(self, root: str, rules: WalkRules) -> list[str]:
        """`walk_files(root, rules)`, made once per run. Callers must not mutate the list."""
        key = (root, rules)
        found = self._walks.get(key)
        if found is None:
            found = walk_files(root, rules)
            with self._lock:
                self._walks[key] = found
        return found

    def text(self, path: str) -> str | None:
        entry = self._texts.get(path)
        run = self._run
        if entry is not None:
            if entry.run == run:
                return entry.text
            if not entry.racy:
                try:
                    current = _signature(os.stat(path))
                except (OSError, ValueError):
                    current = None
                if current == entry.signature:
                    entry.run = run
                    return entry.text
        read_at = time.time_ns()
        text, signature = read_text_signed(path)
        if signature is None:
            # Nothing could be opened: remember nothing, the next call tries again (as upstream would).
            with self._lock:
                self._forget(path)
            return text
        racy = read_at - signature[1] < RACY_WINDOW_NS
        with self._lock:
            self._forget(path)
            size = len(text or "")
            if self._bytes + size <= self._max_bytes:
                self._texts[path] = _Text(signature, text, racy, run)
                self._bytes += size
        return text

    def _forget(self, path: str) -> None:
        old = self._texts.pop(path, None)
        if old is not None:
            self._bytes -= len(old.text or "")


#: The one cache of this process: the built-in libraries share it, the project marks run boundaries.
SOURCES = SourceCache()
