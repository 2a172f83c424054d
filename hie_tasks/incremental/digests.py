"""Content digests of workspace files and directory listings, with a persistent stat cache.

A file's digest is the SHA-256 of its bytes. A path that is not a readable regular file gets a fixed marker
instead, so "the file disappeared" or "it became unreadable" is a change like any other:
`absent` (missing, or a broken symlink), `dir` (a directory — its listing is not part of the marker; listings
are tracked by `tree_digest`), `unreadable` (EACCES and other read errors), `special` (FIFOs, devices, sockets:
never opened, because reading a FIFO would block the run).

Stat cache. Re-hashing every file of every scope on every run would cost more than many checks, so a digest is
stored with the file's (size, mtime_ns, inode, ctime_ns) and reused while those four are unchanged — across runs,
via the `stat_cache` table of the `ResultStore`. Within a run each path is stat'ed and hashed at most once
(first observation wins; `begin_run` starts a fresh snapshot), which is both faster and conservative: if a file
changes while the run is going, the stored digest is the older one and the next run reruns the check.

The stat cache lives in the workspace's store, which may come from anywhere: each entry is signed by the
store and its MAC checked the first time a file's stat matches it (a forged entry would otherwise make any
digest stand for a file); one that does not verify is ignored with a warning and the file is hashed.

Racy timestamps. Filesystems advance mtime/ctime with a coarse clock (a few ms on ext4), so a file rewritten
with the same size within one tick of being hashed would look unchanged forever. As git does with its index,
an entry whose ctime/mtime is younger than `racy_window_ns` at the time of hashing is used for this run but not
persisted; the next run hashes it again, by which time its timestamps are trustworthy.

Per-directory digests. A scope's paths are grouped by directory; each group has a record, kept across runs
in the store's `dir_digests` table: the digest of its files' stat signatures (mode, size, mtime_ns, inode,
ctime_ns, device) and their content digests. When a group's signatures hash to the recorded value — one
comparison per directory — its digests are taken from the record without consulting the per-file stat
cache (which is then never even loaded on a no-op run). Each file is still stat'ed once: an edit changes the
file's mtime, not its directory's. A record is written only when every file is older than the racy window
and none of them had been observed earlier in the run (so a digest can never be paired with a newer stat).
Records are signed by the store and a record's MAC is checked the first time a process relies on it: one
that does not verify (a forged record would pair today's stat signatures with yesterday's digests) is
ignored with a warning and its files are hashed.

Why SHA-256, read whole below 1 MiB and in 1 MiB chunks above: `bench/hash_bench.py` on this machine (x86-64
with SHA-NI, Python 3.11, warm page cache), 10 000 source-sized files (median ≈ 3 KB, 37 MB) + 4 files of
2–8 MB (20 MB):

    hash     strategy  small ms  large ms   MB/s (large)
    sha256   whole        204       15        1323
    sha256   chunked      451       15        1319
    sha256   mmap         414       14        1439
    blake2b  whole        277       36         558
    blake2s  whole        305       52         382
    md5      whole        234       33         598
    stat only (no hashing), all 10 004 files: 42 ms

SHA-256 is hardware-accelerated through OpenSSL here and 2–3.5x faster than BLAKE2/MD5 on large files; for
small files the cost is the open/read syscalls, where one whole read beats chunking (which allocates a buffer
per file) and mmap (extra syscalls). Chunking above 1 MiB keeps memory bounded for huge files at no speed
cost. A warm stat cache replaces ≈ 220 ms of hashing with ≈ 42 ms of stat calls for this corpus.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
import time

from hie_tasks.incremental.store import DatabaseError, ResultStore, StatEntry
from hie_tasks.libraries.base import TreeDep

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable

ABSENT = "absent"
DIR = "dir"
UNREADABLE = "unreadable"
SPECIAL = "special"

#: Files up to this size are read in one call; larger ones are streamed in chunks of this size.
CHUNK_SIZE = 1 << 20
#: Stat-cache entries younger than this are not persisted (see "Racy timestamps" above).
RACY_WINDOW_NS = 2_000_000_000
#: Stat-cache entries a digester asks for one at a time before it loads the whole cache.
SINGLE_LOOKUPS = 256
#: Directory records a digester reads one at a time before it loads them all (fewer than stat entries: a
#: run over many directories would pay each query before the one load it needs anyway).
DIR_SINGLE_LOOKUPS = 32
#: Pending stat-cache entries are written at least this often during a long run.
FLUSH_INTERVAL_S = 5.0


def hash_bytes(data: bytes) -> str:
    """The one hash used for every digest and fingerprint in the incremental layer."""
    return hashlib.sha256(data).hexdigest()


def hash_text(text: str) -> str:
    return hash_bytes(text.encode("utf-8", "surrogatepass"))


def _hash_file(path: str, size: int) -> str:
    if size <= CHUNK_SIZE:
        with open(path, "rb") as f:
            return hash_bytes(f.read())
    h = hashlib.sha256()
    buf = bytearray(CHUNK_SIZE)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


class FileDigester:
    """Digests files and listings for one run at a time; thread-safe.

    `read_hook`, when set, is called with each path whose *content* is read — the observable difference between
    a stat-cache hit and a miss (tests count reads with it; verbose output could too).
    """

    def __init__(self, store: ResultStore | None, *, racy_window_ns: int = RACY_WINDOW_NS,
                 read_hook: Callable[[str], None] | None = None) -> None:
        self._store = store
        self.racy_window_ns = racy_window_ns
        self.read_hook = read_hook
        self._lock = threading.Lock()
        self._memo: dict[str, str] = {}
        self._tree_memo: dict[TreeDep, str] = {}
        #: the stat cache as loaded: path → (entry, MAC still to check, None once checked or when ours)
        self._persisted: dict[str, tuple[StatEntry, str | None]] | None = None
        self._pending: dict[str, StatEntry] = {}
        #: stat-cache entries looked up one by one before the cache is loaded whole (None: not there)
        self._singles: dict[str, tuple[StatEntry, str | None] | None] = {}
        self._singles_left = SINGLE_LOOKUPS
        self._last_flush = time.monotonic()
        self.reads = 0
        self.store_error: DatabaseError | None = None
        #: directory group key → (digest of its stat signatures, digests joined by newlines, MAC to check
        #: before relying on it — None once checked or when written by this process); None = not loaded
        self._dirs: dict[str, tuple[str, str, str | None]] | None = None
        #: directory records read one by one before the table is loaded whole (a run over a few folders)
        self._dir_singles: dict[str, tuple[str, str, str | None]] = {}
        self._dir_singles_left = DIR_SINGLE_LOOKUPS
        self._pending_dirs: dict[str, tuple[str, str]] = {}
        #: this run's stat of each regular file it digested, taken before its bytes (or its record) were
        #: used: (mode, size, mtime_ns, inode, ctime_ns) — what the run memo (hie_tasks/replay) vouches by
        self.stats: dict[str, tuple[int, int, int, int, int]] = {}

    def begin_run(self) -> None:
        """Forget this process's snapshot of the file system; the persistent stat cache stays."""
        with self._lock:
            self._memo.clear()
            self._tree_memo.clear()
            self.stats.clear()

    def digest(self, path: str) -> str:
        # No lock to read: a dict lookup is atomic, and entries are never changed once set (first wins).
        known = self._memo.get(path)
        if known is not None:
            return known
        value = self._digest_uncached(path)
        with self._lock:
            # Another thread may have raced us to the same path; keep the first answer so every user of this
            # run sees one consistent snapshot.
            return self._memo.setdefault(path, value)

    def _digest_uncached(self, path: str) -> str:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return ABSENT
        except PermissionError:
            return UNREADABLE
        except OSError as exc:
            return ABSENT if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP) else UNREADABLE
        if stat.S_ISDIR(st.st_mode):
            return DIR
        if not stat.S_ISREG(st.st_mode):
            return SPECIAL
        self.stats.setdefault(path, (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
        found = self._persisted_entry(path)
        if found is not None:
            cached = found[0]
            if (cached.size == st.st_size and cached.mtime_ns == st.st_mtime_ns and cached.ino == st.st_ino
                    and cached.ctime_ns == st.st_ctime_ns and self._believed(path, found)):
                return cached.digest
        hashed_at = time.time_ns()
        try:
            if self.read_hook is not None:
                self.read_hook(path)
            with self._lock:
                self.reads += 1
            value = _hash_file(path, st.st_size)
        except FileNotFoundError:
            return ABSENT
        except OSError:
            return UNREADABLE
        newest = max(st.st_mtime_ns, st.st_ctime_ns)
        if self._store is not None and hashed_at - newest >= self.racy_window_ns:
            self._remember(path, _entry(st, value))
        return value

    def _believed(self, path: str, found: tuple[StatEntry, str | None]) -> bool:
        """Whether a stat-cache entry may stand for the file's content: ours, or its MAC verifies (checked
        once per entry and process; one that fails is dropped and the file hashed)."""
        if found[1] is None:
            return True
        store = self._store
        ok = store is not None and store.stat_entry_verifies(path, found[0], found[1])
        with self._lock:
            persisted = self._persisted if self._persisted is not None else self._singles
            if persisted.get(path) is found:
                if ok:
                    persisted[path] = (found[0], None)
                else:
                    del persisted[path]
        return ok

    def _persisted_entry(self, path: str) -> tuple[StatEntry, str | None] | None:
        persisted = self._persisted
        if persisted is not None:
            # Loaded already (the common case, once per file): a dict lookup needs no lock.
            return persisted.get(path)
        if self._store is None:
            return None
        with self._lock:
            if self._persisted is None and self._singles_left > 0:
                # The first few misses are asked for one by one: a run (or a watch cycle) that edited a file
                # or two then never loads the whole cache — 100k entries are ~50 MB and a tenth of a second.
                if path in self._singles:
                    return self._singles[path]
                self._singles_left -= 1
                try:
                    found = self._store.get_stat_entry(path)
                except DatabaseError as exc:
                    self._store_broke(exc)
                    return None
                self._singles[path] = found
                return found
            if self._persisted is None:
                # Past that, one bulk read beats a query per file: ~10 ms per 10k entries, once per process.
                try:
                    self._persisted = dict(self._store.load_signed_stat_cache())
                except DatabaseError as exc:
                    self._store_broke(exc)
                self._singles.clear()
            assert self._persisted is not None
            return self._persisted.get(path)

    def _prefetch(self, paths: list[str]) -> None:
        """While entries are still asked for one by one, ask for a directory's at once: an edited folder's
        files cost one query, not one each."""
        if self._persisted is not None or self._store is None:
            return
        with self._lock:
            wanted = [p for p in paths if p not in self._singles and p not in self._memo]
            if not wanted or self._singles_left < len(wanted):
                return
            self._singles_left -= len(wanted)
            try:
                found = self._store.get_stat_entries(wanted)
            except DatabaseError as exc:
                self._store_broke(exc)
                return
            for path in wanted:
                self._singles[path] = found.get(path)

    def _store_broke(self, exc: DatabaseError) -> None:
        # A broken store only costs speed here: hash everything, persist nothing. The session notices the
        # same failure on its next store access and reports it.
        self.store_error = exc
        self._store = None
        self._persisted = {}

    def _remember(self, path: str, entry: StatEntry) -> None:
        with self._lock:
            self._pending[path] = entry
            if self._persisted is not None:
                self._persisted[path] = (entry, None)
            else:
                self._singles[path] = (entry, None)
            due = time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S
        if due:
            self.flush()

    def flush(self) -> None:
        """Write pending stat-cache entries and directory records to the store."""
        with self._lock:
            batch, self._pending = self._pending, {}
            dirs, self._pending_dirs = self._pending_dirs, {}
            self._last_flush = time.monotonic()
        if self._store is not None:
            if batch:
                self._store.put_stat_entries(batch)
            if dirs:
                self._store.put_dir_digests(dirs)

    # -- per-directory digests ---------------------------------------------------------------------------

    def scope_digests(self, paths: tuple[str, ...]) -> list[str]:
        """`[digest(p) for p in paths]`, answered a directory at a time (see "Per-directory digests")."""
        groups: dict[str, list[int]] = {}
        for i, path in enumerate(paths):
            groups.setdefault(path.rpartition(os.sep)[0], []).append(i)
        out: list[str] = [""] * len(paths)
        for directory, members in groups.items():
            names = [paths[i] for i in members]
            for i, value in zip(members, self._group_digests(directory, names), strict=True):
                out[i] = value
        return out

    def _dir_records(self) -> dict[str, tuple[str, str, str | None]]:
        records = self._dirs
        if records is not None:
            return records
        with self._lock:
            if self._dirs is None:
                loaded: dict[str, tuple[str, str, str | None]] = {}
                if self._store is not None:
                    try:
                        loaded = dict(self._store.load_dir_digests())
                    except DatabaseError as exc:
                        self.store_error = exc
                        self._store = None
                loaded.update(self._dir_singles)  # verified or written since: newer than the table's row
                self._dir_singles = {}
                self._dirs = loaded
            return self._dirs

    def _dir_record_table(self, key: str) -> dict[str, tuple[str, str, str | None]]:
        """Where `key`'s record is: the whole table once loaded; before that, while the budget lasts, a table
        of records read one by one (a run rerunning a few checks reads a few rows, not 10,000)."""
        if self._dirs is not None:
            return self._dirs
        with self._lock:
            if key in self._dir_singles or self._store is None:
                return self._dir_singles
            single = self._dir_singles_left > 0
            if single:
                self._dir_singles_left -= 1
        if not single:
            return self._dir_records()
        try:
            found = self._store.load_dir_digest(key)
        except DatabaseError as exc:
            self.store_error = exc
            self._store = None
            return self._dir_singles
        with self._lock:
            if found is not None:
                self._dir_singles.setdefault(key, found)
            return self._dir_singles

    def _trusted_record(self, key: str, signature: str) -> tuple[str, str, str | None] | None:
        """The directory record for `key` when it matches `signature` and is ours (its MAC is checked the
        first time a run would rely on it, so a cycle touching one directory checks one record)."""
        records = self._dir_record_table(key)
        record = records.get(key)
        if record is None or record[0] != signature:
            return None
        if record[2] is not None:
            store = self._store
            if store is None or not store.dir_record_verifies(key, record[0], record[1], record[2]):
                with self._lock:
                    records.pop(key, None)
                return None
            record = (record[0], record[1], None)
            with self._lock:
                records[key] = record
        return record

    def _group_digests(self, directory: str, paths: list[str]) -> list[str]:
        memo = self._memo
        try:
            stats = [os.stat(p) for p in paths]
        except (OSError, ValueError):
            return [self.digest(p) for p in paths]
        signature = stat_signature(stats)
        key = dir_record_key(directory, paths)
        record = self._trusted_record(key, signature)
        if record is not None:
            known = self.stats
            for path, st in zip(paths, stats, strict=True):
                if path not in known:
                    known[path] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
            digests = record[1].split("\n")
            # Join this run's snapshot; a path observed earlier with another digest keeps its first answer.
            agreed = True
            for path, value in zip(paths, digests, strict=True):
                if memo.setdefault(path, value) != value:
                    agreed = False
            if agreed:
                return digests
            return [memo[p] for p in paths]
        seen_before = any(p in memo for p in paths)
        self._prefetch(paths)
        digests = [self.digest(p) for p in paths]
        newest = max(max(st.st_mtime_ns, st.st_ctime_ns) for st in stats)
        trustworthy = (not seen_before and all(stat.S_ISREG(st.st_mode) for st in stats)
                       and time.time_ns() - newest >= self.racy_window_ns)
        if trustworthy and self._store is not None:
            entry = (signature, "\n".join(digests))
            records = self._dir_record_table(key)
            with self._lock:
                self._pending_dirs[key] = entry
                records[key] = (*entry, None)
        return digests

    def tree_digest(self, tree: TreeDep) -> str:
        """Digest of the sorted relative paths of the files `tree` selects (names only, not contents)."""
        with self._lock:
            known = self._tree_memo.get(tree)
        if known is not None:
            return known
        listing = list_tree(tree)
        value = hash_text("\n".join(listing)) if listing is not None else ABSENT
        with self._lock:
            return self._tree_memo.setdefault(tree, value)


def stat_signature(stats: list[os.stat_result]) -> str:
    """The digest of a directory group's stat signatures, as its record stores it."""
    return hash_text(repr([(st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, st.st_dev)
                           for st in stats]))


def dir_record_key(directory: str, paths: list[str]) -> str:
    """The key of a directory group's record: the directory and exactly the paths asked for in it."""
    return hash_text(directory + "\0" + "\0".join(paths))


def list_tree(tree: TreeDep) -> list[str] | None:
    """The sorted '/'-separated relative paths `tree` selects, or None when its root is not a directory.

    Directories named in `exclude` and symlinked directories are not entered (a symlink cycle would never end,
    and the link target is not part of the tree). A subdirectory that cannot be listed contributes an
    `<dir>/<unreadable>` entry, so fixing its permissions counts as a change.
    """
    if not os.path.isdir(tree.root):
        return None
    out: list[str] = []
    excluded = frozenset(tree.exclude)
    stack = [("", tree.root)]
    while stack:
        rel, absdir = stack.pop()
        try:
            with os.scandir(absdir) as it:
                entries = list(it)
        except OSError:
            out.append(f"{rel}<unreadable>")
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in excluded:
                        stack.append((f"{rel}{entry.name}/", entry.path))
                    continue
                if entry.is_symlink() and entry.is_dir():
                    continue
            except OSError:
                continue
            if not tree.suffixes or entry.name.endswith(tree.suffixes):
                out.append(rel + entry.name)
    out.sort()
    return out


def _entry(st: os.stat_result, digest: str) -> StatEntry:
    return StatEntry(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, digest)
