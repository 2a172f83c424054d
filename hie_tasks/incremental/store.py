"""The persistent result store: one sqlite file, `<root>/results.sqlite`, shared by every run in a workspace.

Durability model. The file is in WAL mode with `synchronous=NORMAL`: a committed transaction survives the
process being killed (`kill -9`) at any point, and an uncommitted one simply vanishes, so a verdict row is
either entirely there or not at all. A verdict is committed on its own, right after its check finished, so a
run killed half-way keeps the verdicts it already produced. Stat-cache updates are many and individually
worthless, so they are written in batches by the caller (`put_stat_entries`).

Concurrency model. Two runs in the same workspace (two terminals, an editor plus CI) are separate processes
writing the same file. Every write transaction starts with `BEGIN IMMEDIATE`, which takes the write lock up
front: SQLite's busy handler (`busy_timeout`) then waits for the other writer instead of failing with
"database is locked" the way a deferred transaction that upgrades from read to write does. Inside one process
there is one connection guarded by a lock; the runner's threads take turns (each statement takes microseconds).

Damaged or foreign files. A file that is not a SQLite database, that is corrupt, or whose `schema_version` this
code does not know is moved aside to `results.sqlite.corrupt-<timestamp>` (with its `-wal`/`-shm` companions, so
a stale WAL can never be replayed into the fresh file) and a fresh store is created. The move is reported in
`warnings` for the caller to print; nothing is deleted.

Authentication. A store can come from anywhere (committed to a repository, restored from a CI cache), so a
verdict row is believed only if its `mac` column verifies: an HMAC (`hie_tasks.secret`, a per-user key that
lives outside the workspace) over the row's key, fingerprint, breakdown, deps, listings and outcome (status,
message, duration, output); a selector row likewise over its key, value, deps and listings. A row that does
not verify is read as absent, so its check reruns, and the store counts it for one warning
(`take_warnings`). One HMAC per row read, over the columns' stored text (no decoding). Rows written before
the column existed have none and rerun once. A per-directory record (`dir_digests`: stat signatures and the
content digests they vouch for) and a stat-cache entry are signed too, and verified when a run is about to
rely on them.

Costs that follow the change. A long-lived reader (watch, the daemon) must not re-read every verdict per
cycle, yet must see what another process wrote: each verdict write takes the next `verdict_seq` (kept in
`meta`) into the row's `seq`, `data_version` says whether anyone else committed at all, and
`verdict_rows_since` returns only the newer rows. Which verdict uses which scope set is kept in `scope_refs`,
so replacing a verdict deletes the sets it alone used, without a pass over every verdict.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import threading
import time

import hie_tasks.secret as secret
from hie_tasks.model import jsontext
from hie_tasks.model.record import FrozenRecord, TupleRecord, tuple_field, tuple_new

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import Any, TypeAlias
else:
    try:
        # The C module itself: the `sqlite3` package around it only adds date and time adapters (which the
        # store never uses) and imports `datetime` for them, ~2 ms of every run that touches the store.
        import _sqlite3 as sqlite3
    except ImportError:
        import sqlite3

#: What a broken or locked store file raises (modules beside this one catch it without importing sqlite).
DatabaseError = sqlite3.Error

SCHEMA_VERSION = 1
#: SQLite's `user_version` of a store whose tables, columns and migrations are all what `_initialise` makes:
#: opening such a store skips that write transaction (a run that reruns two checks paid ~1 ms for it). Bump
#: it whenever `_initialise` or `_migrate` starts adding something.
READY_VERSION = 1
DB_NAME = "results.sqlite"
#: How long a write waits for another process holding the write lock before giving up.
BUSY_TIMEOUT_MS = 30_000
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Damaged stores moved aside that are kept for inspection; older ones are deleted (they would pile up).
KEEP_CORRUPT = 3
#: Store files this process has open connections to (real path → how many). POSIX record locks belong to the
#: process, and closing *any* descriptor of a file drops all of them: a header read by a second store in the
#: same process (the daemon's reader beside its session) would silently release SQLite's shared lock of the
#: first, and another process closing its connection would then think itself the last one and delete the WAL
#: under our feet ("file is not a database"). A file SQLite has open here was already checked.
_LIVE: dict[str, int] = {}
_LIVE_LOCK = threading.Lock()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    breakdown TEXT NOT NULL,
    deps TEXT NOT NULL,
    trees TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    duration_ms REAL NOT NULL,
    output TEXT NOT NULL,
    run_id INTEGER,
    recorded_at REAL NOT NULL,
    mac TEXT,
    seq INTEGER
);
CREATE TABLE IF NOT EXISTS scope_sets (
    digest TEXT PRIMARY KEY,
    paths TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scope_refs (
    key TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (key, digest)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scope_refs_digest ON scope_refs (digest);
CREATE TABLE IF NOT EXISTS stat_cache (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL,
    mac TEXT
);
CREATE TABLE IF NOT EXISTS dir_digests (
    key TEXT PRIMARY KEY,
    stats TEXT NOT NULL,
    digests TEXT NOT NULL,
    mac TEXT
);
CREATE TABLE IF NOT EXISTS selector_cache (
    key TEXT PRIMARY KEY,
    value_json TEXT NOT NULL,
    deps TEXT NOT NULL,
    trees TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    mac TEXT
);
CREATE TABLE IF NOT EXISTS last_reasons (
    key TEXT PRIMARY KEY,
    run_id INTEGER,
    reason TEXT NOT NULL,
    inputs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    finished REAL,
    counts TEXT
);
"""
#: The tables and indexes `_initialise` and `_migrate` create.
_SCHEMA_OBJECTS = frozenset({*(line.split("IF NOT EXISTS ")[1].split()[0] for line in _SCHEMA.splitlines()
                               if "IF NOT EXISTS" in line), "verdicts_seq"})


class StoreUnavailable(Exception):
    """The store cannot be used at all (directory not creatable, file not writable). The message names the
    path and what to do; the caller should print it and run without the cache."""


class StatEntry(TupleRecord, tuple[int, int, int, int, str]):
    """What a file looked like when it was last hashed, and the digest it had then.

    A tuple with named fields rather than a record class: a run loads one per workspace file, and building
    10 000 frozen dataclasses cost several times more than the query that read them. Written out rather
    than a `typing.NamedTuple`, which imports `typing` and generates code for each class; it behaves as the
    named tuple did (equal to the plain tuple of its fields, hashed as it)."""

    __slots__ = ()
    _fields = ("size", "mtime_ns", "ino", "ctime_ns", "digest")

    if TYPE_CHECKING:
        # What mypy needs to know of the fields `tuple_field` below makes (it cannot see through it).
        @property
        def size(self) -> int: ...
        @property
        def mtime_ns(self) -> int: ...
        @property
        def ino(self) -> int: ...
        @property
        def ctime_ns(self) -> int: ...
        @property
        def digest(self) -> str: ...
    else:
        size = tuple_field(0)
        mtime_ns = tuple_field(1)
        ino = tuple_field(2)
        ctime_ns = tuple_field(3)
        digest = tuple_field(4)

    def __new__(cls, size: int, mtime_ns: int, ino: int, ctime_ns: int, digest: str) -> StatEntry:
        return tuple_new(cls, (size, mtime_ns, ino, ctime_ns, digest))



#: A recorded directory listing: (root, suffixes, exclude, digest).
TreeRecord = tuple[str, tuple[str, ...], tuple[str, ...], str]


class StoredVerdict(FrozenRecord):
    __slots__ = ("fingerprint", "breakdown", "deps", "trees", "status", "message", "duration_ms", "output",
                 "run_id", "recorded_at")

    fingerprint: str
    #: component name → digest; a `scope[i]` digest also names its row in `scope_sets`.
    breakdown: dict[str, str]
    deps: dict[str, str]
    trees: list[TreeRecord]
    status: str
    message: str | None
    duration_ms: float
    output: list[str]
    run_id: int | None
    recorded_at: float

    def __init__(self, fingerprint: str, breakdown: dict[str, str], deps: dict[str, str], trees: list[TreeRecord],
                 status: str, message: str | None, duration_ms: float, output: list[str], run_id: int | None = None,
                 recorded_at: float = 0.0) -> None:
        self.fingerprint = fingerprint
        self.breakdown = breakdown
        self.deps = deps
        self.trees = trees
        self.status = status
        self.message = message
        self.duration_ms = duration_ms
        self.output = output
        self.run_id = run_id
        self.recorded_at = recorded_at


class StoredSelector(FrozenRecord):
    __slots__ = ("value_json", "deps", "trees")

    value_json: str
    deps: dict[str, str]
    trees: list[TreeRecord]

    def __init__(self, value_json: str, deps: dict[str, str], trees: list[TreeRecord]) -> None:
        self.value_json = value_json
        self.deps = deps
        self.trees = trees


#: `jsontext.dumps(x, sort_keys=True)` without building an encoder per call (thousands of calls per run).
_SORTED_JSON = jsontext.encoder(sort_keys=True)


def _trees_to_json(trees: list[TreeRecord]) -> str:
    return jsontext.dumps([[root, list(sfx), list(exc), digest] for root, sfx, exc, digest in trees])


def _trees_from_json(text: str) -> list[TreeRecord]:
    return [(str(r), tuple(s), tuple(e), str(d)) for r, s, e, d in _loads(text)]


def _loads(text: str) -> Any:
    # Most verdicts have no output, no trees and no deps: skip the decoder for those.
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return jsontext.loads(text)


_VERDICT_MAC = "store-verdict"
_SELECTOR_MAC = "store-selector"
_DIR_MAC = "store-dir-digests"
_STAT_MAC = "store-stat"


def _stat_mac(sign: Callable[..., str], path: str, e: StatEntry) -> str:
    return sign(path, str(e.size), str(e.mtime_ns), str(e.ino), str(e.ctime_ns), e.digest)


def verdict_mac(key: str, fingerprint: str, breakdown: str, deps: str, trees: str, status: str,
                message: str | None, duration_ms: float, output: str,
                sign: Callable[..., str] | None = None) -> str:
    """The MAC of a verdict row, over its columns as stored (JSON text). `sign`: a `secret.signer` for
    verdicts, when the caller checks many rows."""
    return (sign or secret.signer(_VERDICT_MAC))(
        key, fingerprint, breakdown, deps, trees, status, "-" if message is None else "+" + message,
        repr(float(duration_ms)), output,
    )


def selector_mac(key: str, value_json: str, deps: str, trees: str) -> str:
    return secret.mac(_SELECTOR_MAC, key, value_json, deps, trees)


#: A verdict row as read, before decoding: (fingerprint, breakdown, deps, trees, status, message,
#: duration_ms, output, run_id, recorded_at), JSON columns still text.
#: (A string at run time, where `Any` is not imported; mypy reads it as the type.)
VerdictRow: TypeAlias = "tuple[Any, ...]"


def decode_verdict(r: VerdictRow, breakdown: dict[str, str] | None = None) -> StoredVerdict:
    """The verdict of a row. `breakdown`: the caller's breakdown for the row's fingerprint, when it has
    one (equal fingerprints hash equal breakdowns), saving the decoding of the stored copy."""
    return StoredVerdict(
        fingerprint=r[0], breakdown=_loads(r[1]) if breakdown is None else breakdown, deps=_loads(r[2]),
        trees=_trees_from_json(r[3]), status=r[4], message=r[5], duration_ms=float(r[6]), output=_loads(r[7]),
        run_id=r[8], recorded_at=float(r[9]),
    )


def _scope_digests_of(breakdown: Mapping[str, str]) -> set[str]:
    """The scope-set digests a verdict's breakdown refers to (its `scope[i]` components)."""
    return {d for name, d in breakdown.items() if name.startswith("scope[")}


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a store written by an older hie-tasks (same schema version) up to the columns and tables this
    one keeps beside the verdicts, inside the opening transaction. Idempotent; costs one full pass over the
    verdicts once per store, never again."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(verdicts)")}
    if "seq" not in columns:
        conn.execute("ALTER TABLE verdicts ADD COLUMN seq INTEGER")
        conn.execute("UPDATE verdicts SET seq = 0")
    conn.execute("CREATE INDEX IF NOT EXISTS verdicts_seq ON verdicts (seq)")
    if conn.execute("SELECT 1 FROM meta WHERE key = 'scope_refs'").fetchone() is None:
        refs: list[tuple[str, str]] = []
        for key, breakdown in conn.execute("SELECT key, breakdown FROM verdicts"):
            try:
                refs.extend((key, d) for d in _scope_digests_of(jsontext.loads(breakdown)))
            except (ValueError, AttributeError):
                continue  # a damaged row: it will not verify either, and its sets are swept as orphans
        conn.executemany("INSERT OR IGNORE INTO scope_refs (key, digest) VALUES (?, ?)", refs)
        conn.execute("INSERT INTO meta (key, value) VALUES ('scope_refs', '1')")


def _next_seq(conn: sqlite3.Connection) -> int:
    """The next verdict sequence number (inside the caller's write transaction, so it is unique and only
    grows, across processes)."""
    row = conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'verdict_seq'"
                       " RETURNING CAST(value AS INTEGER)").fetchall()
    if row:
        return int(row[0][0])
    conn.execute("INSERT INTO meta (key, value) VALUES ('verdict_seq', '1')")
    return 1


#: Keys per `IN (...)` query: far below SQLite's limit on bound parameters (32 766; 999 before 3.32).
_KEYS_PER_QUERY = 500
#: Above this many keys, one pass over the table costs less than looking each key up.
_KEYS_FOR_A_SCAN = 5000


def _rows_of_keys(conn: sqlite3.Connection, select: str, keys: list[str]) -> list[Any]:
    """`select` (over a table whose primary key is `key`) restricted to `keys`: by index for a few keys, by
    one scan (filtered here) for many."""
    if len(keys) > _KEYS_FOR_A_SCAN:
        wanted = set(keys)
        return [r for r in conn.execute(select) if r[0] in wanted]
    out: list[Any] = []
    for at in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[at:at + _KEYS_PER_QUERY]
        out += conn.execute(f"{select} WHERE key IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    return out


class ResultStore:
    """Verdicts, the stat cache, cached selector results and run history of one workspace.

    Construct with the cache directory (the caller picks it, normally `<workspace>/.hie-cache`). Raises
    `StoreUnavailable` when the directory or file cannot be used; `try_open` turns that into a warning.
    Every method is thread-safe. A `sqlite3.Error` escaping a method means the file broke *during* the run
    (disk full, file deleted); the session layer catches it and carries on without the cache.
    """

    def __init__(self, root_dir: str) -> None:
        self.root_dir = root_dir
        self.path = os.path.join(root_dir, DB_NAME)
        #: Human-readable notes for the caller to print (e.g. a damaged file that was moved aside).
        self.warnings: list[str] = []
        self._lock = threading.RLock()
        #: the thread inside `transaction`, whose writes join that transaction
        self._batch_owner: int | None = None
        self._scope_json_memo: dict[str, str] = {}
        #: rows that failed authentication since the last take_warnings(), by key (a key counts once)
        self._rejected: set[str] = set()
        #: directory records and stat-cache entries that failed authentication since the last
        #: take_warnings(), by key or path
        self._rejected_digests: set[str] = set()
        #: the MAC functions of directory records and stat entries, made when they are loaded (one key
        #: derivation, not one per record)
        self._dir_signer: Callable[..., str] | None = None
        self._stat_signer: Callable[..., str] | None = None
        try:
            os.makedirs(root_dir, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot create the result cache directory '{root_dir}': {exc.strerror or exc}; "
                "run with --no-cache or point the cache at a writable directory"
            ) from exc
        self._live_key: str | None = os.path.realpath(self.path)
        with _LIVE_LOCK:
            self._conn = self._open_checked(skip_header=_LIVE.get(self._live_key, 0) > 0)
            _LIVE[self._live_key] = _LIVE.get(self._live_key, 0) + 1

    def _release_live(self) -> None:
        key, self._live_key = self._live_key, None
        if key is not None:
            with _LIVE_LOCK:
                left = _LIVE.get(key, 1) - 1
                if left > 0:
                    _LIVE[key] = left
                else:
                    _LIVE.pop(key, None)

    @classmethod
    def try_open(cls, root_dir: str) -> tuple[ResultStore | None, list[str]]:
        """Open the store, or return None plus the reason when it cannot be used; never raises."""
        try:
            store = cls(root_dir)
        except StoreUnavailable as exc:
            return None, [str(exc)]
        return store, list(store.warnings)

    # -- opening -----------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves (see module docstring).
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _header_problem(self) -> str | None:
        # Checked before SQLite opens the file: SQLite would delete or reuse a `-wal` lying next to a file it
        # cannot read, and the WAL may hold the newest part of the data we promise not to lose.
        try:
            with open(self.path, "rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot read the result cache '{self.path}': {exc.strerror or exc}; "
                "check permissions or run with --no-cache"
            ) from exc
        if head and head != _SQLITE_MAGIC:
            return "it is not a SQLite database (unexpected file header)"
        return None

    def _open_checked(self, skip_header: bool = False) -> sqlite3.Connection:
        header = None if skip_header else self._header_problem()
        if header is not None:
            self._move_aside(header)
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            problem = self._initialise(conn)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not looks_corrupt(exc):
                if conn is not None:
                    conn.close()
                raise StoreUnavailable(
                    f"cannot open the result cache '{self.path}': {exc}; "
                    "check permissions or run with --no-cache"
                ) from exc
            problem = f"it is not a readable SQLite database ({exc})"
        if problem is None:
            assert conn is not None
            return conn
        if conn is not None:
            conn.close()
        self._move_aside(problem)
        try:
            conn = self._connect()
            again = self._initialise(conn)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot create a fresh result cache '{self.path}': {exc}") from exc
        if again is not None:
            raise StoreUnavailable(f"cannot create a fresh result cache '{self.path}': {again}")
        return conn

    def _initialise(self, conn: sqlite3.Connection) -> str | None:
        """Set up WAL and the schema; return why the existing file is unusable, or None when it is fine."""
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: commits survive process death; only an OS crash may lose the last commits.
        conn.execute("PRAGMA synchronous = NORMAL")
        if self._ready(conn):
            return None
        with self._write(conn):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for table in ("verdicts", "selector_cache", "dir_digests", "stat_cache"):
                # Stores written before rows were signed: add the column; their rows fail to verify and rerun.
                columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                if "mac" not in columns:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN mac TEXT")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                return f"its schema_version is {row[0]!r} and this hie-tasks understands {SCHEMA_VERSION}"
            _migrate(conn)
            conn.execute(f"PRAGMA user_version = {READY_VERSION}")
        return None

    @staticmethod
    def _ready(conn: sqlite3.Connection) -> bool:
        """Whether `_initialise` already made this store what it makes: marked so, of our schema version,
        and with every table and index still there (one dropped by hand is made again)."""
        try:
            # One statement, not three: opening is part of every partial rerun.
            version, names, schema = conn.execute(
                "SELECT (SELECT user_version FROM pragma_user_version),"
                " (SELECT group_concat(name, char(10)) FROM sqlite_master),"
                " (SELECT value FROM meta WHERE key = 'schema_version')").fetchone()
        except sqlite3.OperationalError:  # no `meta` table: not ours, or not made yet
            return False
        return (version == READY_VERSION and set((names or "").split("\n")) >= _SCHEMA_OBJECTS
                and schema == str(SCHEMA_VERSION))

    def _move_aside(self, problem: str) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = f"{self.path}.corrupt-{stamp}"
        n = 1
        while os.path.exists(target):
            n += 1
            target = f"{self.path}.corrupt-{stamp}-{n}"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                try:
                    os.replace(self.path + suffix, target + suffix)
                except OSError as exc:
                    raise StoreUnavailable(
                        f"the result cache '{self.path}' is unusable ({problem}) and could not be moved "
                        f"aside: {exc.strerror or exc}; delete it or run with --no-cache"
                    ) from exc
        self.warnings.append(
            f"warning: result cache '{self.path}' was unusable: {problem}. It was moved to '{target}' "
            "and a fresh cache was started (all checks run this time)."
        )
        with contextlib.suppress(OSError):
            os.utime(target)  # its mtime says when it was moved aside, for _prune_corrupt's order
        self._prune_corrupt()

    def _prune_corrupt(self) -> None:
        """Keep the newest KEEP_CORRUPT moved-aside stores (with their -wal/-shm), delete the rest."""
        prefix = os.path.basename(self.path) + ".corrupt-"
        try:
            names = [n for n in os.listdir(self.root_dir) if n.startswith(prefix) and not n.endswith(("-wal", "-shm"))]
            aged = sorted(names, key=lambda n: os.stat(os.path.join(self.root_dir, n)).st_mtime_ns, reverse=True)
        except OSError:
            return
        for name in aged[KEEP_CORRUPT:]:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.root_dir, name + suffix))

    # -- transactions ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the writes inside into one transaction (many remote hits written at once: one commit, not
        one per verdict). The lock is held throughout, so other threads' writes wait and stay separate."""
        with self._lock, self._write():
            self._batch_owner = threading.get_ident()
            try:
                yield
            finally:
                self._batch_owner = None

    @contextlib.contextmanager
    def _write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        c = conn if conn is not None else self._conn
        if conn is None and self._batch_owner == threading.get_ident():
            yield c  # inside `transaction`, which holds the lock and commits
            return
        with self._lock:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # -- runs --------------------------------------------------------------------------------------------

    def begin_run(self) -> int:
        with self._write() as c:
            cur = c.execute("INSERT INTO runs (started) VALUES (?)", (time.time(),))
            run_id = cur.lastrowid
        assert run_id is not None
        return run_id

    def end_run(self, run_id: int, counts: dict[str, int]) -> None:
        with self._write() as c:
            c.execute("UPDATE runs SET finished = ?, counts = ? WHERE id = ?",
                      (time.time(), jsontext.dumps(counts, sort_keys=True), run_id))

    def put_reasons(self, run_id: int | None, reasons: Mapping[str, tuple[str, dict[str, str]]]) -> None:
        """Why each check of a run was replayed or rerun, kept for `hie-tasks explain` after the run.

        A row whose reason and inputs are what the table already holds (every replayed check of a no-op
        run) is left alone, so `run_id` is the run that first recorded the reason as it stands: rewriting
        ~1 KB of inputs (or even only the run id, which dirties every page) per check made this the most
        expensive statement of a no-op run. Only the rows of the given keys are read to compare, so a run
        that reran two checks reads two rows, whatever the size of the table.
        """
        if not reasons:
            return
        encode = _SORTED_JSON
        rows = {k: (r, encode(i)) for k, (r, i) in reasons.items()}
        with self._write() as c:
            for key, reason, inputs in _rows_of_keys(c, "SELECT key, reason, inputs FROM last_reasons", list(rows)):
                if rows.get(key) == (reason, inputs):
                    del rows[key]
            c.executemany(
                "INSERT OR REPLACE INTO last_reasons (key, run_id, reason, inputs) VALUES (?, ?, ?, ?)",
                [(k, run_id, r, i) for k, (r, i) in rows.items()],
            )

    def reason_heads(self, keys: Iterable[str] | None = None) -> dict[str, tuple[str, int | None]]:
        """The reason rows' (reason, run_id), without their inputs: enough to tell which rows a run must
        rewrite. Every row, or only those of `keys`."""
        sql = "SELECT key, reason, run_id FROM last_reasons"
        with self._lock:
            found = self._conn.execute(sql).fetchall() if keys is None else _rows_of_keys(self._conn, sql, list(keys))
        return {r[0]: (r[1], r[2]) for r in found}

    def get_reason(self, key: str) -> tuple[int | None, str, dict[str, str]] | None:
        rows = self._read("SELECT run_id, reason, inputs FROM last_reasons WHERE key = ?", (key,))
        if not rows:
            return None
        return rows[0][0], rows[0][1], jsontext.loads(rows[0][2])

    def runs(self) -> list[tuple[int, float, float | None, dict[str, int] | None]]:
        rows = self._read("SELECT id, started, finished, counts FROM runs ORDER BY id")
        return [(r[0], r[1], r[2], jsontext.loads(r[3]) if r[3] else None) for r in rows]

    # -- verdicts ----------------------------------------------------------------------------------------

    _VERDICT_COLUMNS = ("fingerprint, breakdown, deps, trees, status, message, duration_ms, output, run_id,"
                        " recorded_at")

    def _authentic(self, rows: list[Any]) -> dict[str, VerdictRow]:
        """Rows (key, columns…, mac) whose MAC verifies, by key, without the MAC; the others are counted."""
        good: dict[str, VerdictRow] = {}
        sign = secret.signer(_VERDICT_MAC)
        for r in rows:
            if isinstance(r[11], str) and hmac.compare_digest(
                r[11], verdict_mac(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], sign=sign)
            ):
                good[r[0]] = r[1:11]
            else:
                with self._lock:
                    self._rejected.add(r[0])
        return good

    def get_verdict(self, key: str) -> StoredVerdict | None:
        rows = self._read(f"SELECT key, {self._VERDICT_COLUMNS}, mac FROM verdicts WHERE key = ?", (key,))
        found = self._authentic(rows).get(key)
        return decode_verdict(found) if found is not None else None

    def get_verdict_rows(self) -> dict[str, VerdictRow]:
        """Every stored verdict that verifies, by key, undecoded (`decode_verdict`), in one query: a run looks
        up nearly all of them, and one statement per check costs more than reading the whole table."""
        return self.verdict_rows_since(None)[0]

    def verdict_rows_since(self, seq: int | None) -> tuple[dict[str, VerdictRow], set[str], int]:
        """The verdicts written after sequence number `seq` (every verdict for None), in one query: those
        that verify by key (undecoded), the keys of those that do not, and the highest sequence number
        seen (`seq` when none is newer), which the caller passes next time. Rows an older hie-tasks wrote
        carry no number and are always included."""
        if seq is None:
            rows = self._read(f"SELECT key, {self._VERDICT_COLUMNS}, mac, seq FROM verdicts")
        else:
            rows = self._read(f"SELECT key, {self._VERDICT_COLUMNS}, mac, seq FROM verdicts"
                              " WHERE seq > ? OR seq IS NULL", (seq,))
        good = self._authentic(rows)
        top = max((r[12] for r in rows if isinstance(r[12], int)), default=seq if seq is not None else 0)
        return good, {r[0] for r in rows if r[0] not in good}, max(top, seq or 0)

    def data_version(self) -> int:
        """SQLite's `data_version` of this connection: it changes exactly when another connection (another
        process, or another store object on the same file) committed a write since the last call."""
        return int(self._read("PRAGMA data_version")[0][0])

    def take_warnings(self) -> list[str]:
        """One warning for the rows rejected since the last call, naming how many (and one for directory
        records)."""
        with self._lock:
            count, self._rejected = len(self._rejected), set()
            dirs, self._rejected_digests = len(self._rejected_digests), set()
        out: list[str] = []
        if count:
            out.append(
                f"warning: {count} stored result{'s' if count != 1 else ''} in '{self.path}' did not verify "
                "(edited, copied from another machine, or written under another key) and "
                f"{'were' if count != 1 else 'was'} ignored; the checks reran. Share a store between machines "
                f"only with the same ${secret.ENV_SECRET}."
            )
        if dirs:
            out.append(
                f"warning: {dirs} stored file digest record{'s' if dirs != 1 else ''} in '{self.path}' did not "
                f"verify and {'were' if dirs != 1 else 'was'} ignored; the files were hashed again."
            )
        return out

    def put_verdict(self, key: str, v: StoredVerdict, scope_sets: Mapping[str, dict[str, str]] | None = None) -> None:
        """Replace the verdict for `key`, committed immediately (one transaction per verdict).

        `scope_sets` maps a scope component digest to its {path: content digest}. They live in their own
        content-addressed table because many checks share one scope (a 10k-file folder scope is ~1 MB of
        JSON; storing it per verdict would make the file grow with checks × files). Written in the same
        transaction as the verdict, so a verdict never points at a set that is not there.

        Which verdict uses which set is kept in `scope_refs`, updated here: a set the replaced verdict used
        and no verdict uses any more is deleted in the same transaction, so pruning costs what the write
        replaced, not a pass over every verdict. Each write also takes the next `verdict_seq`, which lets a
        long-lived reader fetch only the rows written since it last looked (`verdict_rows_since`).
        """
        sets = [(digest, self._scope_json(digest, paths)) for digest, paths in (scope_sets or {}).items()]
        columns = (v.fingerprint, jsontext.dumps(v.breakdown, sort_keys=True), jsontext.dumps(v.deps, sort_keys=True),
                   _trees_to_json(v.trees), v.status, v.message, float(v.duration_ms), jsontext.dumps(v.output))
        used = _scope_digests_of(v.breakdown)
        with self._write() as c:
            seq = _next_seq(c)
            c.executemany("INSERT OR IGNORE INTO scope_sets (digest, paths) VALUES (?, ?)", sets)
            c.execute(
                "INSERT OR REPLACE INTO verdicts (key, fingerprint, breakdown, deps, trees, status,"
                " message, duration_ms, output, run_id, recorded_at, mac, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (key, *columns, v.run_id, v.recorded_at or time.time(), verdict_mac(key, *columns), seq),
            )
            before = {r[0] for r in c.execute("SELECT digest FROM scope_refs WHERE key = ?", (key,))}
            if before != used:
                dropped = before - used
                c.executemany("DELETE FROM scope_refs WHERE key = ? AND digest = ?", [(key, d) for d in dropped])
                c.executemany("INSERT OR IGNORE INTO scope_refs (key, digest) VALUES (?, ?)",
                              [(key, d) for d in used - before])
                gone = [d for d in dropped if c.execute(
                    "DELETE FROM scope_sets WHERE digest = ? AND NOT EXISTS"
                    " (SELECT 1 FROM scope_refs WHERE digest = ?)", (d, d)).rowcount]
                if gone:
                    with self._lock:
                        for d in gone:
                            self._scope_json_memo.pop(d, None)

    def _scope_json(self, digest: str, paths: dict[str, str]) -> str:
        # Serialising a big set once per process instead of once per check that uses it.
        with self._lock:
            text = self._scope_json_memo.get(digest)
            if text is None:
                text = self._scope_json_memo[digest] = jsontext.dumps(paths, sort_keys=True)
            return text

    def get_scope_set(self, digest: str) -> dict[str, str] | None:
        rows = self._read("SELECT paths FROM scope_sets WHERE digest = ?", (digest,))
        return jsontext.loads(rows[0][0]) if rows else None

    def prune_scope_sets(self) -> int:
        """Delete every scope set no verdict refers to; returns how many went. Not needed run by run
        (`put_verdict` drops a set with its last user): a sweep for sets orphaned some other way, such as
        an older hie-tasks replacing verdicts without keeping `scope_refs`. It rebuilds the references from
        the verdicts themselves, so it costs a pass over every verdict."""
        with self._write() as c:
            refs: set[tuple[str, str]] = set()
            for key, breakdown in c.execute("SELECT key, breakdown FROM verdicts"):
                try:
                    refs.update((key, d) for d in _scope_digests_of(jsontext.loads(breakdown)))
                except (ValueError, AttributeError):
                    continue
            c.execute("DELETE FROM scope_refs")
            c.executemany("INSERT INTO scope_refs (key, digest) VALUES (?, ?)", sorted(refs))
            live = {d for _k, d in refs}
            dead = [(d,) for (d,) in c.execute("SELECT digest FROM scope_sets").fetchall() if d not in live]
            c.executemany("DELETE FROM scope_sets WHERE digest = ?", dead)
        with self._lock:
            for (d,) in dead:
                self._scope_json_memo.pop(d, None)
        return len(dead)

    def scope_set_digests(self) -> set[str]:
        return {r[0] for r in self._read("SELECT digest FROM scope_sets")}

    def recorded_durations(self) -> dict[str, float]:
        """How long each stored verdict's check took when it last ran, by key: what `--shard` balances by."""
        return {r[0]: float(r[1]) for r in self._read("SELECT key, duration_ms FROM verdicts")}

    def verdict_keys(self) -> list[str]:
        return [r[0] for r in self._read("SELECT key FROM verdicts ORDER BY key")]

    # -- stat cache --------------------------------------------------------------------------------------

    def load_stat_cache(self) -> dict[str, StatEntry]:
        """Every stat-cache entry, unverified (`load_signed_stat_cache` is what a digester believes)."""
        return {path: entry for path, (entry, _mac) in self.load_signed_stat_cache().items()}

    def load_signed_stat_cache(self) -> dict[str, tuple[StatEntry, str]]:
        """Every stat-cache entry with its MAC, not yet verified: the user checks an entry when a file's stat
        matches it (`stat_entry_verifies`), so a run pays for the entries it relies on."""
        self._stat_signer = secret.signer(_STAT_MAC)
        rows = self._read("SELECT path, size, mtime_ns, ino, ctime_ns, digest, mac FROM stat_cache")
        return {r[0]: (StatEntry(r[1], r[2], r[3], r[4], r[5]), r[6] if isinstance(r[6], str) else "") for r in rows}

    def get_stat_entry(self, path: str) -> tuple[StatEntry, str] | None:
        """One stat-cache entry with its MAC, unverified, or None."""
        return self.get_stat_entries([path]).get(path)

    def get_stat_entries(self, paths: list[str]) -> dict[str, tuple[StatEntry, str]]:
        """`get_stat_entry` of each of a few paths, in one query per `_KEYS_PER_QUERY`; absent ones are left out."""
        out: dict[str, tuple[StatEntry, str]] = {}
        for at in range(0, len(paths), _KEYS_PER_QUERY):
            chunk = paths[at:at + _KEYS_PER_QUERY]
            rows = self._read("SELECT path, size, mtime_ns, ino, ctime_ns, digest, mac FROM stat_cache "
                              f"WHERE path IN ({','.join('?' * len(chunk))})", chunk)
            for r in rows:
                out[r[0]] = StatEntry(r[1], r[2], r[3], r[4], r[5]), r[6] if isinstance(r[6], str) else ""
        if out:
            self._stat_signer = self._stat_signer or secret.signer(_STAT_MAC)
        return out

    def stat_entry_verifies(self, path: str, entry: StatEntry, mac: str) -> bool:
        """Whether a loaded stat-cache entry is one we wrote; one that is not is counted for a warning (a
        forged entry matching a file's stat would stand in for its content)."""
        sign = self._stat_signer or secret.signer(_STAT_MAC)
        if mac and hmac.compare_digest(mac, _stat_mac(sign, path, entry)):
            return True
        with self._lock:
            self._rejected_digests.add(path)
        return False

    def put_stat_entries(self, entries: dict[str, StatEntry]) -> None:
        """Write a batch of stat-cache entries in one transaction."""
        if not entries:
            return
        sign = secret.signer(_STAT_MAC)
        with self._write() as c:
            c.executemany(
                "INSERT OR REPLACE INTO stat_cache (path, size, mtime_ns, ino, ctime_ns, digest, mac)"
                " VALUES (?,?,?,?,?,?,?)",
                [(p, e.size, e.mtime_ns, e.ino, e.ctime_ns, e.digest, _stat_mac(sign, p, e)) for p, e in entries.items()],
            )

    # -- per-directory digests -----------------------------------------------------------------------------

    def load_dir_digests(self) -> dict[str, tuple[str, str, str]]:
        """Every per-directory record: key → (digest of the files' stat signatures, their digests joined
        by newlines, MAC), not yet verified: a run uses few of them when few directories are scoped, so the
        user checks each record it relies on (`dir_record_verifies`). See `FileDigester.scope_digests`."""
        self._dir_signer = secret.signer(_DIR_MAC)
        return {r[0]: (r[1], r[2], r[3] if isinstance(r[3], str) else "")
                for r in self._read("SELECT key, stats, digests, mac FROM dir_digests")}

    def load_dir_digest(self, key: str) -> tuple[str, str, str] | None:
        """One record of `load_dir_digests`, not yet verified."""
        if self._dir_signer is None:
            self._dir_signer = secret.signer(_DIR_MAC)
        rows = self._read("SELECT stats, digests, mac FROM dir_digests WHERE key = ?", (key,))
        if not rows:
            return None
        stats, digests, mac = rows[0]
        return stats, digests, mac if isinstance(mac, str) else ""

    def dir_record_verifies(self, key: str, stats: str, digests: str, mac: str) -> bool:
        """Whether a loaded directory record is one we wrote; one that is not is counted for a warning.
        Its digests would otherwise stand in for the files' contents: a forged record pairing today's stat
        signatures with yesterday's digests would replay verdicts about files that changed."""
        sign = self._dir_signer or secret.signer(_DIR_MAC)
        if mac and hmac.compare_digest(mac, sign(key, stats, digests)):
            return True
        with self._lock:
            self._rejected_digests.add(key)
        return False

    def put_dir_digests(self, records: Mapping[str, tuple[str, str]]) -> None:
        if not records:
            return
        sign = secret.signer(_DIR_MAC)
        with self._write() as c:
            c.executemany("INSERT OR REPLACE INTO dir_digests (key, stats, digests, mac) VALUES (?,?,?,?)",
                          [(k, stats, digests, sign(k, stats, digests)) for k, (stats, digests) in records.items()])

    # -- selector cache ----------------------------------------------------------------------------------

    def get_selector(self, key: str) -> StoredSelector | None:
        rows = self._read("SELECT value_json, deps, trees, mac FROM selector_cache WHERE key = ?", (key,))
        if not rows:
            return None
        value_json, deps, trees, mac = rows[0]
        if not isinstance(mac, str) or not hmac.compare_digest(mac, selector_mac(key, value_json, deps, trees)):
            with self._lock:
                self._rejected.add(key)
            return None
        return StoredSelector(value_json, jsontext.loads(deps), _trees_from_json(trees))

    def put_selector(self, key: str, s: StoredSelector) -> None:
        deps, trees = jsontext.dumps(s.deps, sort_keys=True), _trees_to_json(s.trees)
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO selector_cache (key, value_json, deps, trees, recorded_at, mac)"
                " VALUES (?,?,?,?,?,?)",
                (key, s.value_json, deps, trees, time.time(), selector_mac(key, s.value_json, deps, trees)),
            )

    # -- lifetime ----------------------------------------------------------------------------------------

    def quarantine(self, problem: str) -> None:
        """Corruption found mid-run: close and move the file aside now, so the next run starts fresh
        instead of tripping over the same damage. Later calls on this object fail with sqlite3 errors."""
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._release_live()
            try:
                self._move_aside(problem)
            except StoreUnavailable as exc:
                self.warnings.append(f"warning: {exc}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._release_live()


def looks_corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text
