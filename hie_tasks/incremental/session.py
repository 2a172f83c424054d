"""The runner's single entry point into the incremental layer: replay a verdict, or run and record it.

One `IncrementalSession` serves one process and may span several runs (watch mode): `begin_run` … `end_run`.
All methods are thread-safe. Store failures in the middle of a run (disk full, file removed) never abort the
run: the session switches itself off, appends a line to `warnings`, and every later lookup misses.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time

from hie_tasks.incremental.digests import ABSENT, FileDigester, hash_text
from hie_tasks.incremental.fingerprint import (
    NOT_HASHED,
    Fingerprint,
    FingerprintMemo,
    FingerprintParts,
    compute_fingerprint,
    iter_scopes,
)
from hie_tasks.incremental.relocate import (
    abs_path,
    rel_path,
    relocate_json,
    relocate_optional,
    relocate_text,
    reroot_json,
    reroot_optional,
    reroot_text,
)
from hie_tasks.incremental.store import (
    DatabaseError,
    ResultStore,
    StoredSelector,
    StoredVerdict,
    TreeRecord,
    VerdictRow,
    decode_verdict,
    looks_corrupt,
)
from hie_tasks.libraries.base import CallContext, Purity, TreeDep
from hie_tasks.model import jsontext
from hie_tasks.model.codec import decode_value, dumps_canonical, encode_value
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.record import FrozenRecord, Record
from hie_tasks.model.values import Scope, Status, Value

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Final, Protocol, TypeVar

    T = TypeVar("T")

    class RemoteVerdicts(Protocol):
        """A shared cache behind the local store (`hie_tasks.remote.cache.RemoteCache`). Entries are
        relocated (workspace-relative) exactly as local rows are; implementations never raise for a cache
        failure. Only annotations name it, so it exists for mypy alone."""

        def fetch(self, wanted: list[tuple[str, str]]) -> dict[str, StoredVerdict]: ...
        def expect(self, wanted: list[tuple[str, str]]) -> None: ...
        def offer(self, storage_key: str, verdict: StoredVerdict) -> None: ...
        def fetch_selector(self, key: str) -> StoredSelector | None: ...
        def offer_selector(self, key: str, row: StoredSelector) -> None: ...
        def close(self) -> None: ...

#: JSON string quoting as `canonical_json` does it (ensure_ascii=False).
_quote = jsontext.quote

#: How many changed paths a reason spells out before summarising the rest as "and N more".
_SHOWN_CHANGES = 3

_COMPONENT_TEXT = {
    "version": "hie-tasks version changed",
    "text": "check text changed",
    "location": "check moved to another file or line",
    "library": "library name changed",
    "identity": "plugin identity changed",
    "function": "function name changed",
    "args": "arguments changed",
    "recipe": "fingerprint recipe changed (verdict stored by another hie-tasks)",
}

REPLAYED = "replayed: inputs unchanged"
#: The stored status of an Error a built-in gave as its answer (`CheckResult.stable`): replayed as "error".
STABLE_ERROR = "error:stable"
REPLAYED_REMOTE = "replayed from the remote cache: inputs unchanged"
DISABLED = "cache disabled"


def shareable(parts: FingerprintParts, purity: Purity) -> bool:
    """Whether a verdict may go to (or come from) the shared cache: a complete fingerprint of a pure or
    workspace-reading library. Impure libraries never; unresolved scopes (their file set is not known) never."""
    return purity is not Purity.IMPURE and all(scope.resolved for scope in iter_scopes(parts.args))


#: What a snapshot refresh read: (data_version, authentic rows by key, keys that did not verify, highest seq).
_Fetched = tuple[int, dict[str, VerdictRow], set[str], int]
#: `_guard`'s answer when the store failed during a refresh.
_NO_STORE: _Fetched = (-1, {}, set(), -1)


if TYPE_CHECKING:
    import enum

    class _Miss(enum.Enum):
        MISS = "MISS"

    #: Returned by `selector_lookup` when there is no usable cached value (None is a legitimate Value).
    MISS: Final = _Miss.MISS
else:
    # At run time a plain sentinel (mypy narrows on the enum member above; `enum` costs ~1 ms to import).
    class _Miss:
        __slots__ = ()

        def __repr__(self):
            return "MISS"

    MISS = _Miss()
SelectorAnswer = Value | _Miss


class CheckKey(FrozenRecord):
    """Stable identity of a check across runs."""

    __slots__ = ("spec_file", "element", "index", "text")

    spec_file: str
    element: str
    index: int
    text: str

    def __init__(self, spec_file: str, element: str, index: int, text: str) -> None:
        self.spec_file = spec_file
        self.element = element
        self.index = index
        self.text = text

    def __hash__(self) -> int:
        # The generic hash (`FrozenRecord`) gets the fields through `attrgetter`, ~60 ns slower than these
        # attribute loads, and a run hashes keys ~9 times per check (the storage-key cache, per-run maps).
        return hash((self.spec_file, self.element, self.index, self.text))

    def storage_key(self) -> str:
        return _storage_key(self)


@functools.lru_cache(maxsize=1 << 16)
def _storage_key(key: CheckKey) -> str:
    # Asked for at lookup and again when the run's reasons are written; a run has thousands of checks.
    # `canonical_json([spec_file, element, index, text])` spelled out (tests pin the two to one text).
    return f"[{_quote(key.spec_file)},{_quote(key.element)},{key.index},{_quote(key.text)}]"


class Replay(Record):
    """A stored verdict being replayed instead of running the check."""

    __slots__ = ("status", "message", "duration_ms", "output", "source")

    status: str
    message: str | None
    duration_ms: float
    output: list[str]
    #: "local" or "remote": which store the verdict came from
    source: str

    def __init__(self, status: str, message: str | None, duration_ms: float, output: list[str] | None = None,
                 source: str = "local") -> None:
        self.status = status
        self.message = message
        self.duration_ms = duration_ms
        self.output = [] if output is None else output
        self.source = source


def _status_text(status: object) -> str:
    # Status is a string enumeration; str() of it would be "Status.PASS", so take the value.
    return str(status.value) if isinstance(status, Status) else str(status)


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN_CHANGES])
    rest = len(items) - _SHOWN_CHANGES
    return f"{shown}, and {rest} more" if rest > 0 else shown


def _change_word(old: str, new: str) -> str:
    if old == ABSENT:
        return "created"
    if new == ABSENT:
        return "deleted"
    return "modified"


class IncrementalSession:
    """Replays and records check verdicts and selector results for the runner.

    `store` None or `enabled` False: lookups always miss and nothing is recorded (`--no-cache`).
    `refresh` True: lookups always miss but results are recorded (`--refresh`).
    `digester` may be passed to share one across sessions or to observe reads; by default the session makes
    its own backed by `store`. `close` also closes the store. `snapshot` False: each lookup reads its own
    row instead of the whole table at the first lookup (a run that looks up a few checks of thousands).
    """

    def __init__(self, store: ResultStore | None, *, refresh: bool = False, enabled: bool = True,
                 digester: FileDigester | None = None, snapshot: bool = True) -> None:
        self._store = store
        self._snapshot = snapshot
        self.enabled = enabled and store is not None
        self.refresh = refresh
        self.digester = digester if digester is not None else FileDigester(store if self.enabled else None)
        #: Lines for the caller to print (store moved aside, store failed mid-run).
        self.warnings: list[str] = list(store.warnings) if store is not None else []
        self._lock = threading.Lock()
        self._run_id: int | None = None
        self._reasons: dict[CheckKey, str] = {}
        self._inputs: dict[CheckKey, dict[str, str]] = {}
        #: replayed checks' inputs, built only when asked for: (breakdown, deps, trees, the verdict's run id)
        self._replayed: dict[CheckKey, tuple[dict[str, str], dict[str, str], list[TreeRecord], int | None]] = {}
        self._fingerprints: dict[CheckKey, tuple[FingerprintParts, Purity, Fingerprint]] = {}
        self._selectors: dict[str, Value] = {}
        self._memo = FingerprintMemo()
        #: the stored verdicts as this process knows them, read in one query at the first lookup of the
        #: session and kept across runs: later runs fetch only what another process wrote meanwhile
        self._verdicts: dict[str, VerdictRow | StoredVerdict] | None = None
        #: the store's `data_version` and the highest verdict sequence number when `_verdicts` was last read
        self._data_version: int | None = None
        self._verdict_seq = 0
        #: whether this run brought `_verdicts` up to date (once per run, at its first lookup)
        self._snapshot_current = False
        self._snapshot_lock = threading.Lock()
        self._scope_diffs: dict[tuple[str, str], str] = {}
        #: the shared cache consulted after the local store, or None
        self.remote: RemoteVerdicts | None = None
        #: this run's answers found by `prefetch` (None: looked up, nothing to replay)
        self._prefetched: dict[CheckKey, Replay | None] = {}
        #: checks whose verdict this run stored (or took from the remote) and the next run replays:
        #: the deps and listings it recorded
        self._kept: dict[CheckKey, tuple[dict[str, str], list[TreeRecord]]] = {}

    # -- store access that degrades instead of failing ---------------------------------------------------

    def _guard(self, action: Callable[[ResultStore], T], fallback: T) -> T:
        store = self._store
        if not self.enabled or store is None:
            return fallback
        try:
            result = action(store)
        except DatabaseError as exc:
            self._store_failed(store, exc)
            return fallback
        if self.digester.store_error is not None:
            # The digester swallowed a failure of its own (it must not break fingerprinting); report it.
            self._store_failed(store, self.digester.store_error)
            return fallback
        return result

    def _store_failed(self, store: ResultStore, exc: DatabaseError) -> None:
        with self._lock:
            if not self.enabled:
                return
            self.enabled = False
            self.warnings.append(
                f"warning: result cache '{store.path}' failed ({exc}); continuing without it "
                "(nothing more is replayed or recorded in this run)"
            )
        if looks_corrupt(exc):
            seen = len(store.warnings)
            store.quarantine(f"it is damaged ({exc})")
            with self._lock:
                self.warnings.extend(store.warnings[seen:])

    def _set(self, key: CheckKey, reason: str, inputs: dict[str, str] | None = None) -> None:
        with self._lock:
            self._reasons[key] = reason
            self._replayed.pop(key, None)
            if inputs is not None:
                self._inputs[key] = inputs

    # -- runs --------------------------------------------------------------------------------------------

    def begin_run(self) -> None:
        self.digester.begin_run()
        with self._lock:
            self._reasons.clear()
            self._inputs.clear()
            self._replayed.clear()
            self._fingerprints.clear()
            self._selectors.clear()
            self._memo.clear()
            self._snapshot_current = False
            self._scope_diffs.clear()
            self._prefetched.clear()
            self._kept.clear()
        self._run_id = self._guard(lambda s: s.begin_run(), None)

    def end_run(self, counts: dict[str, int]) -> None:
        self._guard(lambda s: self.digester.flush(), None)
        run_id = self._run_id
        with self._lock:
            replayed = dict(self._replayed)
            pairs = [(k, r) for k, r in self._reasons.items() if r]
        # A replayed check's reason row is a function of its verdict row alone: when the table says
        # "replayed" since that verdict was recorded, it already holds this run's row (no encoding, no write).
        no_heads: dict[str, tuple[str, int | None]] = {}
        replayed_keys = [key.storage_key() for key in replayed]
        heads = self._guard(lambda s: s.reason_heads(replayed_keys), no_heads) if replayed else no_heads
        reasons: dict[str, tuple[str, dict[str, str]]] = {}
        for key, reason in pairs:
            skey = key.storage_key()
            known = replayed.get(key)
            if known is not None:
                head = heads.get(skey)
                if (head is not None and head[0] == REPLAYED and known[3] is not None and head[1] is not None
                        and head[1] >= known[3]):
                    continue
                reasons[skey] = (reason, {**known[0], **_dynamic_inputs(known[1], known[2])})
            else:
                reasons[skey] = (reason, self._inputs.get(key, {}))
        self._guard(lambda s: s.put_reasons(run_id, reasons), None)
        if run_id is not None:
            self._guard(lambda s: s.end_run(run_id, counts), None)
        # No pruning pass: a scope set goes with the last verdict that used it (`put_verdict`).
        self._run_id = None

    def next_run_inputs(self, keys: list[CheckKey], workspace: str
                        ) -> tuple[dict[str, str | None], set[TreeDep]] | None:
        """What the next run compares to replay these checks — the files (absolute: scope members and
        recorded deps, with the content digest this run used where it hashed them) and the listings — when
        it replays every one of them as this run ended; None when any would rerun (no verdict kept, an
        Error, an impure library, the store failed)."""
        if not self.enabled or self.refresh:
            return None
        files: dict[str, str | None] = {}
        trees: set[TreeDep] = set()
        seen: dict[int, Scope] = {}  # the Scope objects kept alive, so their ids stay theirs
        with self._lock:
            for key in keys:
                kept = self._kept.get(key)
                if kept is None:
                    replayed = self._replayed.get(key)
                    if replayed is None or self._reasons.get(key) != REPLAYED:
                        return None
                    kept = (replayed[1], replayed[2])
                known = self._fingerprints.get(key)
                if known is None:
                    return None
                parts, _purity, fp = known
                # Each scope once (checks share a few), by its own absolute paths: the component's relative
                # names are in the same order (`fingerprint._scope`).
                for i, scope in enumerate(iter_scopes(parts.args)):
                    if id(scope) in seen:
                        continue
                    seen[id(scope)] = scope
                    digests = list(fp.scope_paths.get(f"scope[{i}]", {}).values())
                    if len(digests) != len(scope.paths):
                        digests = [NOT_HASHED] * len(scope.paths)  # then vouched for by stat alone
                    files.update((p, None if d == NOT_HASHED else d)
                                 for p, d in zip(scope.paths, digests, strict=True))
                if kept[0]:
                    files.update((abs_path(p, workspace), d) for p, d in kept[0].items())
                if kept[1]:
                    trees.update(TreeDep(abs_path(root, workspace), sfx, exc) for root, sfx, exc, _d in kept[1])
        return files, trees

    def recorded_durations(self) -> dict[str, float]:
        """Each stored check's last duration by storage key; empty without a usable store."""
        return self._guard(lambda s: s.recorded_durations(), {})

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()  # waits (bounded) for queued uploads
            self.remote = None
        self._guard(lambda s: self.digester.flush(), None)
        if self._store is not None:
            try:
                self._store.close()
            except DatabaseError:
                pass
        self.enabled = False

    # -- checks ------------------------------------------------------------------------------------------

    def _fingerprint(self, key: CheckKey, parts: FingerprintParts, purity: Purity) -> Fingerprint:
        with self._lock:
            known = self._fingerprints.get(key)
        if known is not None and known[0] == parts and known[1] == purity:
            return known[2]
        fp = compute_fingerprint(parts, self.digester, contents=purity is not Purity.PURE, memo=self._memo)
        with self._lock:
            self._fingerprints[key] = (parts, purity, fp)
        return fp

    def lookup(self, key: CheckKey, parts: FingerprintParts, purity: Purity) -> Replay | None:
        """The stored verdict when every input is unchanged, else None; `reason(key)` says which."""
        if not self.enabled:
            self._set(key, DISABLED)
            return None
        if key in self._prefetched:
            return self._prefetched.pop(key)
        if purity is Purity.IMPURE:
            self._set(key, f"never replayed: library '{parts.library}' is impure")
            return None
        fp = self._fingerprint(key, parts, purity)
        if self.refresh:
            self._set(key, "reran: --refresh given", dict(fp.breakdown))
            return None
        stored = self._stored_verdict(key.storage_key(), fp)
        if stored is None:
            self._set(key, "reran: no previous verdict" if self.enabled else DISABLED, dict(fp.breakdown))
            return None
        changes = self._static_changes(parts, fp, stored)
        if not changes and stored.status == "error":
            changes = ["previous verdict was an error (errors are never replayed)"]
        if not changes:
            changes = self._dynamic_changes(parts.workspace, stored.deps, stored.trees, fp.scope_paths)
        if changes:
            self._set(key, "reran: " + "; ".join(changes), dict(fp.breakdown))
            return None
        # One lock for both: a no-op run does this once per check. The inputs of a replayed check are
        # built from `_replayed` when asked for.
        with self._lock:
            self._reasons[key] = REPLAYED
            self._replayed[key] = (fp.breakdown, stored.deps, stored.trees, stored.run_id)
        ws = parts.workspace
        return Replay("error" if stored.status == STABLE_ERROR else stored.status,
                      reroot_optional(stored.message, ws), stored.duration_ms,
                      [reroot_text(line, ws) for line in stored.output])

    def record(self, key: CheckKey, parts: FingerprintParts, purity: Purity, status: str,
               message: str | None, ctx: CallContext, duration_ms: float) -> None:
        """Store this run's verdict with the digests of what the check read, taken now that it finished."""
        if not self.enabled or purity is Purity.IMPURE:
            return
        fp = self._fingerprint(key, parts, purity)
        deps = self._dep_records(ctx)
        trees = self._tree_records(ctx.trees, ctx.workspace)
        ws = parts.workspace
        verdict = StoredVerdict(
            fingerprint=fp.value, breakdown=fp.breakdown, deps=deps, trees=trees,
            status=_status_text(status), message=relocate_optional(message, ws), duration_ms=duration_ms,
            output=[relocate_text(line, ws) for line in ctx.output],
            run_id=self._run_id, recorded_at=time.time(),
        )
        sets = {fp.breakdown[name]: paths for name, paths in fp.scope_paths.items()}
        skey = key.storage_key()
        def put(s: ResultStore) -> bool:
            s.put_verdict(skey, verdict, sets)
            return True

        stored = self._guard(put, False)
        with self._lock:
            if stored and verdict.status != "error":
                self._kept[key] = (deps, trees)
            self._inputs[key] = {**fp.breakdown, **_dynamic_inputs(deps, trees)}
            if self._verdicts is not None:
                self._verdicts[skey] = verdict
        if self.remote is not None and verdict.status not in ("error", STABLE_ERROR) and shareable(parts, purity):
            self.remote.offer(skey, verdict)

    def prefetch(self, checks: list[tuple[CheckKey, FingerprintParts, Purity]]) -> None:
        """Look every check up locally, then the local misses in the remote cache in one batch; remote hits
        are written to the local store. `lookup` then answers these checks from what was found here."""
        remote = self.remote
        if remote is None or not self.enabled:
            return
        if self.refresh:
            # Nothing is replayed, but the remote learns the run's checks (for its run manifest).
            remote.expect([(key.storage_key(), self._fingerprint(key, parts, purity).value)
                           for key, parts, purity in checks if shareable(parts, purity)])
            return
        wanted: dict[str, tuple[CheckKey, FingerprintParts, Fingerprint]] = {}
        for key, parts, purity in checks:
            replay = self.lookup(key, parts, purity)
            self._prefetched[key] = replay
            if replay is None and shareable(parts, purity) and self.enabled:
                wanted[key.storage_key()] = (key, parts, self._fingerprint(key, parts, purity))
        if not wanted:
            return
        found = remote.fetch([(skey, fp.value) for skey, (_k, _p, fp) in wanted.items()])
        store = self._store
        try:
            with store.transaction() if store is not None and self.enabled else contextlib.nullcontext():
                self._take_remote_hits(found, wanted)
        except DatabaseError as exc:
            assert store is not None
            self._store_failed(store, exc)

    def _take_remote_hits(self, found: dict[str, StoredVerdict],
                          wanted: dict[str, tuple[CheckKey, FingerprintParts, Fingerprint]]) -> None:
        for skey, entry in found.items():
            key, parts, fp = wanted[skey]
            if entry.status in ("error", STABLE_ERROR) or entry.fingerprint != fp.value:
                continue
            if self._dynamic_changes(parts.workspace, entry.deps, entry.trees):
                continue  # another runner's files differed in what the check read beyond its scopes
            verdict = StoredVerdict(
                fingerprint=fp.value, breakdown=fp.breakdown, deps=entry.deps, trees=entry.trees,
                status=entry.status, message=entry.message, duration_ms=entry.duration_ms, output=entry.output,
                run_id=self._run_id, recorded_at=time.time(),
            )
            self._store_remote_hit(skey, verdict, fp)
            with self._lock:
                if self._verdicts is not None:
                    self._verdicts[skey] = verdict
            self._set(key, REPLAYED_REMOTE, {**fp.breakdown, **_dynamic_inputs(entry.deps, entry.trees)})
            with self._lock:
                self._kept[key] = (entry.deps, entry.trees)
            ws = parts.workspace
            self._prefetched[key] = Replay(entry.status, reroot_optional(entry.message, ws), entry.duration_ms,
                                           [reroot_text(line, ws) for line in entry.output], source="remote")

    def _store_remote_hit(self, skey: str, verdict: StoredVerdict, fp: Fingerprint) -> None:
        sets = {fp.breakdown[name]: paths for name, paths in fp.scope_paths.items()}
        self._guard(lambda s: s.put_verdict(skey, verdict, sets), None)

    def _stored_verdict(self, storage_key: str, fp: Fingerprint) -> StoredVerdict | None:
        """The stored verdict for a key: from the session's snapshot of the whole table, else from the store
        itself, so that a verdict another process recorded since the snapshot is still found."""
        if not self._snapshot:
            return self._guard(lambda s: s.get_verdict(storage_key), None)
        verdicts = self._current_snapshot()
        if verdicts is None:
            return None
        found = verdicts.get(storage_key)
        if found is None:
            return self._guard(lambda s: s.get_verdict(storage_key), None)
        if isinstance(found, StoredVerdict):
            return found
        return decode_verdict(found, fp.breakdown if found[0] == fp.value else None)

    def _current_snapshot(self) -> dict[str, VerdictRow | StoredVerdict] | None:
        """The snapshot, brought up to date at the first lookup of a run: read whole the first time; later
        (a long-lived watch or daemon) only when `data_version` says another connection wrote, and then only
        the rows with a newer sequence number. None when the store failed."""
        # At the first lookup rather than in begin_run, so that a store which broke in between is noticed
        # (and reported) by the lookup, as with a per-key query.
        with self._lock:
            if self._snapshot_current and self._verdicts is not None:
                return self._verdicts
        with self._snapshot_lock:
            with self._lock:
                if self._snapshot_current and self._verdicts is not None:
                    return self._verdicts
                known, since = self._verdicts is not None, self._verdict_seq

            def read(s: ResultStore) -> _Fetched | None:
                version = s.data_version()  # before the rows: a write in between is fetched next time
                if known and version == self._data_version:
                    return None
                return (version, *s.verdict_rows_since(since if known else None))

            failed: _Fetched | None = _NO_STORE
            fetched = self._guard(read, failed)
            if fetched is _NO_STORE:
                return None
            with self._lock:
                if fetched is not None:
                    version, rows, rejected, seq = fetched
                    if self._verdicts is None:
                        self._verdicts = dict(rows)
                    else:
                        for key in rejected:  # replaced by a row that does not verify: a fresh run ignores it
                            self._verdicts.pop(key, None)
                        self._verdicts.update(rows)
                    self._data_version, self._verdict_seq = version, seq
                self._snapshot_current = True
                return self._verdicts

    def reason(self, key: CheckKey) -> str:
        with self._lock:
            return self._reasons.get(key) or ("not looked up in this run" if self.enabled else DISABLED)

    def last_run_reason(self, key: CheckKey) -> tuple[str, dict[str, str]] | None:
        """What the most recent run that saw this check recorded about it: (reason, inputs)."""
        found = self._guard(lambda s: s.get_reason(key.storage_key()), None)
        return None if found is None else (found[1], found[2])

    def inputs(self, key: CheckKey) -> dict[str, str]:
        with self._lock:
            known = self._replayed.get(key)
            if known is not None:
                return {**known[0], **_dynamic_inputs(known[1], known[2])}
            return dict(self._inputs.get(key, {}))

    # -- selectors ---------------------------------------------------------------------------------------

    @staticmethod
    def _selector_key(library_identity: str, function: str, args_json: str, workspace: str = "") -> str:
        # Relocated, so the same selection at another checkout path finds the same row.
        return hash_text(dumps_canonical([relocate_text(library_identity, workspace), function,
                                          relocate_json(args_json, workspace)]))

    def selector_lookup(self, library_identity: str, function: str, args_json: str,
                        workspace: str = "") -> SelectorAnswer:
        """A cached selector result whose recorded deps and listings are unchanged, else `MISS`."""
        if not self.enabled or self.refresh:
            return MISS
        skey = self._selector_key(library_identity, function, args_json, workspace)
        with self._lock:
            if skey in self._selectors:
                return self._selectors[skey]
        stored = self._guard(lambda s: s.get_selector(skey), None)
        if stored is None and self.remote is not None:
            stored = self.remote.fetch_selector(skey)
            if stored is not None and not self._dynamic_changes(workspace, stored.deps, stored.trees):
                row = stored
                self._guard(lambda s: s.put_selector(skey, row), None)
        if stored is None or self._dynamic_changes(workspace, stored.deps, stored.trees):
            return MISS
        try:
            value = decode_value(jsontext.loads(reroot_json(stored.value_json, workspace)))
        except (ValueError, LibraryError):
            return MISS
        with self._lock:
            self._selectors[skey] = value
        return value

    def selector_record(self, library_identity: str, function: str, args_json: str, value: Value,
                        ctx: CallContext) -> None:
        if not self.enabled:
            return
        ws = ctx.workspace
        skey = self._selector_key(library_identity, function, args_json, ws)
        row = StoredSelector(relocate_json(dumps_canonical(encode_value(value)), ws), self._dep_records(ctx),
                             self._tree_records(ctx.trees, ws))
        self._guard(lambda s: s.put_selector(skey, row), None)
        with self._lock:
            self._selectors[skey] = value
        if self.remote is not None:
            self.remote.offer_selector(skey, row)

    # -- comparing against the stored record -------------------------------------------------------------

    def _dep_records(self, ctx: CallContext) -> dict[str, str]:
        """{workspace-relative path (absolute outside it): digest} of the files a call read."""
        ws = ctx.workspace
        digest = self.digester.digest
        return {rel_path(p, ws): digest(p) for p in sorted(_absolute(ws, d) for d in ctx.deps)}

    def _tree_records(self, trees: set[TreeDep], workspace: str) -> list[TreeRecord]:
        out: list[TreeRecord] = []
        for t in sorted(trees, key=lambda t: (t.root, t.suffixes, t.exclude)):
            tree = TreeDep(_absolute(workspace, t.root), t.suffixes, t.exclude)
            out.append((rel_path(tree.root, workspace), tree.suffixes, tree.exclude, self.digester.tree_digest(tree)))
        return out

    def _static_changes(self, parts: FingerprintParts, fp: Fingerprint, stored: StoredVerdict) -> list[str]:
        if fp.value == stored.fingerprint:
            return []
        if fp.breakdown.get("recipe") != stored.breakdown.get("recipe"):
            return [_COMPONENT_TEXT["recipe"]]
        show = _Display(parts.workspace)
        changes: list[str] = []
        for name in sorted(fp.breakdown.keys() | stored.breakdown.keys(), key=_component_order):
            new, old = fp.breakdown.get(name), stored.breakdown.get(name)
            if new == old:
                continue
            if name in _COMPONENT_TEXT:
                changes.append(_COMPONENT_TEXT[name])
            elif new is None:
                changes.append(f"{name} no longer passed")
            elif old is None:
                changes.append(f"{name} is new")
            else:
                detail = self._scope_change(old, new, fp.scope_paths.get(name, {}), show)
                changes.append(f"{name} changed ({detail})" if detail else f"{name} changed")
        # A stored breakdown equal in every component but with another fingerprint can only come from a
        # different fingerprint recipe (an older hie-tasks); still a reason to rerun.
        return changes or ["fingerprint recipe changed"]

    def _scope_change(self, old: str, new: str, new_paths: dict[str, str], show: _Display) -> str:
        """'a.py modified, …' between two scope sets; memoised because every check over a shared scope asks
        the same question, and loading a big set costs milliseconds."""
        with self._lock:
            known = self._scope_diffs.get((old, new))
        if known is not None:
            return known
        old_paths = self._guard(lambda s: s.get_scope_set(old), None) or {}
        detail = _scope_diff(old_paths, new_paths, show) if old_paths else ""
        with self._lock:
            self._scope_diffs[(old, new)] = detail
        return detail

    def _dynamic_changes(self, workspace: str, deps: dict[str, str], trees: list[TreeRecord],
                         scopes: Mapping[str, dict[str, str]] | None = None) -> list[str]:
        """What changed among the files and listings a check reported reading. `scopes`: this run's scope
        sets of the check ({relative path: digest}, the same per-run snapshot `digest` answers from): a dep
        found there with its recorded digest is unchanged without another look-up (a check that reads its
        own scope's files records them all as deps)."""
        show = _Display(workspace)
        changed: list[str] = []
        known = list(scopes.values()) if scopes else []
        for path, old in deps.items():
            if any(s.get(path) == old for s in known):
                continue
            new = self.digester.digest(abs_path(path, workspace))
            if new != old:
                changed.append(f"{show(path)} {_change_word(old, new)}")
        changes: list[str] = []
        if len(changed) == 1:
            path_text, word = changed[0].rsplit(" ", 1)
            changes.append(f"dependency {path_text} changed ({word})")
        elif changed:
            changes.append(f"dependencies changed: {_listing(changed)}")
        for root, suffixes, exclude, old in trees:
            if self.digester.tree_digest(TreeDep(abs_path(root, workspace), suffixes, exclude)) != old:
                which = f" (files ending in {', '.join(suffixes)})" if suffixes else ""
                changes.append(f"listing of {show(root)}/ changed{which}")
        return changes


def _component_order(name: str) -> tuple[int, str]:
    order = list(_COMPONENT_TEXT)
    return (order.index(name), name) if name in order else (len(order), name)


def _scope_diff(old: dict[str, str], new: dict[str, str], show: _Display) -> str:
    items = [f"{show(p)} added" for p in sorted(new.keys() - old.keys())]
    items += [f"{show(p)} removed" for p in sorted(old.keys() - new.keys())]
    items += [f"{show(p)} modified" for p in sorted(old.keys() & new.keys()) if old[p] != new[p]]
    return _listing(items)


def _dynamic_inputs(deps: dict[str, str], trees: list[TreeRecord]) -> dict[str, str]:
    out = {f"dep {p}": d for p, d in deps.items()}
    out.update({f"tree {root} {','.join(sfx)}".rstrip(): d for root, sfx, _exc, d in trees})
    return out


def _absolute(workspace: str, path: str) -> str:
    return os.path.normpath(os.path.join(workspace, path)) if workspace else path


class _Display:
    """Shows paths under the workspace relative to it, the way a user wrote them in the spec."""

    def __init__(self, workspace: str) -> None:
        self._prefix = workspace.rstrip(os.sep) + os.sep if workspace else ""

    def __call__(self, path: str) -> str:
        return path[len(self._prefix):] if self._prefix and path.startswith(self._prefix) else path
