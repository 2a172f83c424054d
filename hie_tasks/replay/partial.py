"""The run memo's partial rerun: a few files edited in place, and only the checks that read them run again.

A memo (hie_tasks/replay/memo.py) answers a `run` while every input is as recorded. The commonest change
between two runs is a save: one scoped file rewritten, no listing changed. Going the full way then costs a
whole no-op (load the spec and plan, fingerprint and look up every check) to rerun two checks. So a memo of
a `-f json` run also keeps, for every file a check's verdict rests on, which checks those are, and each
check's planned form. When the only differences are such files (at most `memo.PARTIAL_MAX`), serving
rebuilds just those checks, runs them through the engine's own runner and result store (each one still
replays when its fingerprint says its inputs are as stored: a file saved back to what it was), prints the
kept report with their results put in, and leaves the next run's answer as a delta over the memo
(`memo.Delta`: what changed, not the whole memo again).

What it never does: answer after a change to anything planning read (a spec file, `hielements.toml`, a
plugin, a file a selector read, a directory listing, a path that named nothing), or rerun a check of a
library that is not one of the built-ins (plugins take the full way, whose planning also reports plugins that
no longer load). A store that warns while opening sends the run the full way before anything ran; warnings
met while the checks ran (a stored result that did not verify) are printed after the answer, as the full run
prints them, and leave no memo behind.

The output is the full run's, byte for byte apart from durations: the kept report's head (version, status,
totals) is rendered again with this run's totals, and the rerun checks' entries by the JSON format itself.
"""

from __future__ import annotations

import io
import marshal
import os
import sys
import time

from hie_tasks.replay import memo

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any, Literal, TextIO

    from hie_tasks.engine.planned import PlannedCheck
    from hie_tasks.engine.results import CheckOutcome, Totals
    from hie_tasks.libraries.base import Library
    from hie_tasks.model.values import Value

FORMAT = 3
EXIT_OK, EXIT_FAILED = 0, 1


# ---------------------------------------------------------------------------------------------- values


def encode_value(value: Value) -> Any:
    """A check argument as marshal data: a Scope is a tuple (its paths as a common directory prefix and
    names), a list a list, a connection point the codec's tagged dict; scalars stand for themselves."""
    from hie_tasks.model.values import ConnectionPoint, Scope

    if isinstance(value, Scope):
        paths = value.paths
        prefix = os.path.commonprefix(list(paths)) if paths else ""  # noqa: RUF071 - then cut to a separator
        prefix = prefix[:prefix.rfind("/") + 1]
        cut = len(prefix)
        return (value.kind.tag.value, value.kind.text, value.resolved, prefix, tuple([p[cut:] for p in paths]))
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, ConnectionPoint):
        from hie_tasks.model.codec import encode_value as tagged

        return tagged(value)
    return value


def decode_value(data: Any) -> Value:
    from hie_tasks.model.values import Scope, ScopeKind, ScopeKindTag

    if isinstance(data, tuple):
        tag, text, resolved, prefix, names = data
        return Scope(ScopeKind(ScopeKindTag(tag), text), tuple([prefix + n for n in names]), bool(resolved))
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if isinstance(data, dict):
        from hie_tasks.model.codec import decode_value as tagged

        return tagged(data)
    return data  # type: ignore[no-any-return]


def encode_check(check: PlannedCheck) -> bytes:
    assert check.library is not None
    return marshal.dumps((check.element, check.index, check.text, check.spec_file, tuple(check.span),
                          check.library.name, check.function, [encode_value(a) for a in check.args]))


def decode_check(data: bytes, library: Library) -> PlannedCheck:
    from hie_tasks.diagnostics import Span
    from hie_tasks.engine.planned import PlannedCheck

    element, index, text, spec_file, span, _name, function, args = marshal.loads(data)
    return PlannedCheck(element, index, text, spec_file, Span(*span), library, function,
                        [decode_value(a) for a in args])


def library_name(data: bytes) -> str:
    name: str = marshal.loads(data)[5]
    return name


# ---------------------------------------------------------------------------------------------- the blob


def packed(values: Sequence[int], code: Literal["i", "q"]) -> bytes:
    """Integers as machine words (`code`: `array`'s type code): read back by `unpacked` without decoding
    one object per number, which was most of loading the memo's partial data (10,000 owner numbers)."""
    if isinstance(values, memoryview):
        return values.tobytes()
    from array import array

    return array(code, values).tobytes()


def unpacked(data: bytes, code: Literal["i", "q"]) -> memoryview[int]:
    return memoryview(data).cast(code)


class Owners:
    """Per file of the memo (in its order): the positions of the checks whose verdicts rest on it, or None
    for a file planning read (spec, config, plugin, a selector's read). Kept as stored: the distinct tuples
    once (a folder's files share theirs) and each file's number among them, so that a rerun reads the few it
    needs without building 10,000 entries."""

    __slots__ = ("_changed", "_ids", "_shared")

    def __init__(self, shared: list[tuple[int, ...]], ids: Sequence[int]) -> None:
        self._shared, self._ids = shared, ids
        self._changed: dict[int, tuple[int, ...] | None] = {}

    @classmethod
    def of(cls, owners: list[tuple[int, ...] | None]) -> Owners:
        shared: dict[tuple[int, ...], int] = {}
        ids = [-1 if owned is None else shared.setdefault(owned, len(shared)) for owned in owners]
        return cls(list(shared), ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, i: int) -> tuple[int, ...] | None:
        if i in self._changed:
            return self._changed[i]
        n = self._ids[i]
        return None if n < 0 else self._shared[n]

    def __setitem__(self, i: int, owned: tuple[int, ...] | None) -> None:
        self._changed[i] = owned

    def __iter__(self) -> Iterator[tuple[int, ...] | None]:
        return (self[i] for i in range(len(self._ids)))

    def stored(self) -> tuple[list[tuple[int, ...]], bytes]:
        if not self._changed:
            return self._shared, packed(self._ids, "i")
        folded = Owners.of(list(self))
        return folded._shared, packed(folded._ids, "i")


class Checks:
    """Every check as planned (`encode_check`), in report order: one piece of the memo's partial data each,
    verified against its digest (kept in the signed head) when it is read."""

    __slots__ = ("_data", "_digests", "_ends")

    def __init__(self, data: bytes | memo.PartialTail, ends: Sequence[int], digests: bytes) -> None:
        self._data, self._ends, self._digests = data, ends, digests

    @classmethod
    def of(cls, encoded: list[bytes]) -> Checks:
        from hashlib import sha256

        ends: list[int] = []
        size = 0
        for piece in encoded:
            size += len(piece)
            ends.append(size)
        return cls(b"".join(encoded), ends, b"".join([sha256(piece).digest() for piece in encoded]))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, pos: int) -> bytes:
        from hashlib import sha256

        piece = bytes(self._data[self._ends[pos - 1] if pos else 0:self._ends[pos]])
        if sha256(piece).digest() != self._digests[32 * pos:32 * pos + 32]:
            raise ValueError(f"planned check {pos} does not match its digest")
        return piece

    def stored(self) -> tuple[bytes, bytes, bytes]:
        """(ends, digests, pieces) to write again; ValueError when the pieces cannot be read back."""
        # Written again as read: a piece that did not match its digest still does not.
        data = self._data.whole() if isinstance(self._data, memo.PartialTail) else self._data
        return packed(self._ends, "q"), self._digests, data


class Blob:
    """What a memo keeps for a partial rerun (`memo.Partial`): a head of marshal data, decoded only when
    files changed, and the planned checks as the pieces its digests vouch for. `layout` says how the answer
    is put together again:
    - `-f json`: ("json", starts, ends). The memo's answer is `out_parts[0] + duration + out_parts[1]`, and
      result entry i lies in `out_parts[1]` at `[starts[i], ends[i])`: entries are replaced in place.
    - human: ("human", spec label, outcomes): every outcome as data (`outcome_data`), for the terminal
      reporter to print the whole report again (replayed passes are counted, not rendered)."""

    __slots__ = ("builtins", "checks", "encoding", "jobs", "layout", "owners", "skipped", "statuses", "workspace",
                 "workspace_text")

    def __init__(self, *, workspace: str, workspace_text: str, owners: Owners, checks: Checks, statuses: list[str],
                 skipped: int, builtins: tuple[str, ...], jobs: int, encoding: tuple[Any, Any],
                 layout: tuple[Any, ...]) -> None:
        self.workspace, self.workspace_text = workspace, workspace_text
        self.owners = owners
        #: per position in the report: the planned check and its status
        self.checks, self.statuses = checks, statuses
        self.skipped = skipped
        #: the names under which this workspace's registry holds the built-ins themselves
        self.builtins = builtins
        #: `-j`, and stdout's encoding and error handler
        self.jobs, self.encoding = jobs, encoding
        self.layout = layout

    def dumps(self) -> memo.Partial:
        ends, digests, data = self.checks.stored()
        layout = self.layout
        if layout[0] == "json":
            layout = ("json", packed(layout[1], "q"), packed(layout[2], "q"))
        head = marshal.dumps((FORMAT, sys.byteorder, self.workspace, self.workspace_text, self.owners.stored(),
                              ends, digests, self.statuses, self.skipped, self.builtins, self.jobs, self.encoding,
                              layout))
        return head, data

    @classmethod
    def loads(cls, head: bytes, tail: bytes | memo.PartialTail) -> Blob | None:
        try:
            (fmt, order, workspace, workspace_text, (shared, ids), ends, digests, statuses, skipped, builtins, jobs,
             encoding, layout) = marshal.loads(head)
            if fmt != FORMAT or order != sys.byteorder or not layout or layout[0] not in ("json", "human"):
                return None
            ids, ends = unpacked(ids, "i"), unpacked(ends, "q")
            if layout[0] == "json":
                layout = ("json", unpacked(layout[1], "q"), unpacked(layout[2], "q"))
            if len(digests) != 32 * len(ends) or (ends and ends[-1] != len(tail)) or len(statuses) != len(ends):
                return None
        except (ValueError, EOFError, TypeError, IndexError):
            return None
        return cls(workspace=workspace, workspace_text=workspace_text, owners=Owners(shared, ids),
                   checks=Checks(tail, ends, digests), statuses=statuses, skipped=skipped, builtins=builtins,
                   jobs=jobs, encoding=encoding, layout=layout)


def outcome_data(outcome: CheckOutcome) -> tuple[Any, ...]:
    """A replayed outcome as marshal data (`outcome_from` makes it again)."""
    return (outcome.element, outcome.check, outcome.status.value, outcome.message, outcome.file, outcome.line,
            outcome.column, outcome.duration_ms, outcome.output, outcome.library,
            [(loc.file, loc.line) for loc in outcome.locations], outcome.function)


def outcome_from(data: tuple[Any, ...]) -> CheckOutcome:
    from hie_tasks.engine.results import CheckOutcome
    from hie_tasks.model.values import Location, Status

    element, check, status, message, file, line, column, duration, output, library, locations, function = data
    return CheckOutcome(element, check, Status(status), message, file, line, column, duration, True, "local",
                        list(output), library, [Location(f, n) for f, n in locations], function)


class Capture(io.TextIOBase):
    """Collects what is written, answering `isatty`, `encoding` and `errors` as the stream it stands for
    (rich decides colours, width and escapes from them)."""

    def __init__(self, real: TextIO) -> None:
        super().__init__()
        self._real = real
        self._parts: list[str] = []

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._real, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._real, "errors", None)

    def isatty(self) -> bool:
        try:
            return bool(self._real.isatty())
        except (AttributeError, ValueError):
            return False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def text(self) -> str:
        return "".join(self._parts)


def offsets(after_head: bytes, entries: list[bytes], separator: bytes) -> tuple[list[int], list[int]]:
    """Where each entry lies in `after_head + separator.join(entries) + …`."""
    starts: list[int] = []
    ends: list[int] = []
    cursor = len(after_head)
    step = len(separator)
    for entry in entries:
        starts.append(cursor)
        cursor += len(entry)
        ends.append(cursor)
        cursor += step
    return starts, ends


def spliced_pieces(body: bytes, starts: list[int], ends: list[int], new: dict[int, bytes], head: bytes
                   ) -> list[bytes | memoryview]:
    """`head` and the entries of `body` (at `starts`/`ends`) with those in `new` replaced, then what followed
    the last entry: as pieces, the unchanged stretches views into `body` (an answer is printed piece by
    piece, without copying 1.4 MB twice to join it first)."""
    view = memoryview(body)
    pieces: list[bytes | memoryview] = [head]
    cursor = starts[0]
    for pos in sorted(new):
        pieces.append(view[cursor:starts[pos]])
        pieces.append(new[pos])
        cursor = ends[pos]
    pieces.append(view[cursor:])
    return pieces


def splice(body: bytes, starts: list[int], ends: list[int], new: dict[int, bytes], head: bytes
           ) -> tuple[bytes, list[int], list[int]]:
    """`spliced_pieces` joined, and where each entry now lies."""
    shift = len(head) - starts[0]
    new_starts, new_ends = list(starts), list(ends)
    last = 0
    for pos in sorted(new):
        for i in range(last, pos):
            new_starts[i] += shift
            new_ends[i] += shift
        new_starts[pos] = starts[pos] + shift
        shift += len(new[pos]) - (ends[pos] - starts[pos])
        new_ends[pos] = ends[pos] + shift
        last = pos + 1
    for i in range(last, len(starts)):
        new_starts[i] += shift
        new_ends[i] += shift
    return b"".join(spliced_pieces(body, starts, ends, new, head)), new_starts, new_ends


def totals_of(statuses: list[str], skipped: int, cached: int, leaving: list[str] | None = None) -> Totals:
    """The totals of `statuses`, less those of `leaving` (some of them: the checks a rerun runs again)."""
    from hie_tasks.engine.results import Totals

    gone = leaving or []
    total = len(statuses) - len(gone)
    passed = statuses.count("pass") - gone.count("pass")
    failed = statuses.count("fail") - gone.count("fail")
    return Totals(total=total, passed=passed, failed=failed, errors=total - passed - failed, skipped=skipped,
                  cached=cached)


def head_text(totals: Totals, duration_ms: float) -> str | None:
    """The JSON report up to its first result entry, for these totals."""
    from hie_tasks.engine.results import RunReport
    from hie_tasks.output.json_report import split_render

    split = split_render(RunReport(totals=totals, duration_ms=duration_ms))
    return None if split is None else split[0]


# ---------------------------------------------------------------------------------------------- serving


class _Prior:
    """What earlier partial reruns changed since the memo (its `memo.Delta`), as this module reads it: the
    answer's head after the duration and the result entries (json), every check's data (human), and the
    statuses and owners that changed. Applied to the blob, it is the state the delta's answer was made from."""

    __slots__ = ("after", "entries", "human", "owners", "parts", "sigs", "statuses")

    def __init__(self, delta: memo.Delta | None, blob: Blob) -> None:
        self.after: bytes | None = None
        self.entries: dict[int, bytes] = {}
        self.human: dict[int, Any] = {}
        self.statuses: dict[int, str] = {}
        self.owners: dict[int, tuple[int, ...] | None] = {}
        self.sigs: dict[int, Any] = {}
        self.parts: list[bytes] | None = None
        if delta is None:
            return
        self.statuses, self.owners, self.human = delta.blob
        self.sigs, self.parts = dict(delta.sigs), delta.parts
        if blob.layout[0] == "json":
            _kind, starts, ends = blob.layout
            head, *entries = delta.ranges
            if head[:2] != (0, starts[0]):
                raise ValueError("the delta's head is not where the memo's is")
            self.after = head[2]
            for start, end, data in entries:
                pos = memo.find_sorted(starts, start)
                if pos is None or ends[pos] != end:
                    raise ValueError("a delta entry is not where the memo's is")
                self.entries[pos] = data

    def apply(self, blob: Blob) -> None:
        for pos, status in self.statuses.items():
            blob.statuses[pos] = status
        for i, owned in self.owners.items():
            blob.owners[i] = owned
        if self.human:
            kind, label, data = blob.layout
            blob.layout = (kind, label, [self.human.get(i, d) for i, d in enumerate(data)])


def rerun(req: memo.Request, loaded: tuple[Any, ...], tag: str, delta: memo.Delta | None, edited: list[int],
          now: list[Any], started: float) -> int | None:
    """Answer `req` after the memo's files at `edited` changed (`now`: every file's stat taken at the start;
    `tag`: the memo's MAC; `delta`: what earlier partial reruns changed since it); the exit code, or None to
    run in full (nothing has been printed then)."""
    (_fmt, _key, _code, out_parts, _slot, err, files, _sigs, dirs, dir_sigs, absent, nofiles, _store, racy,
     partial) = loaded
    raw = memo.read_partial(req, partial)
    blob = Blob.loads(*raw) if raw is not None else None
    if blob is None or len(out_parts) != 2 or len(blob.owners) != len(files):
        return None
    try:
        prior = _Prior(delta, blob)
        prior.apply(blob)
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if delta is not None:
        racy = delta.racy
    affected: set[int] = set()
    for i in edited:
        owned = blob.owners[i]
        if owned is None:
            return None  # planning read it: the plan itself may change
        affected.update(owned)
    positions = sorted(affected)
    try:
        encoded = {p: blob.checks[p] for p in positions}
    except (ValueError, IndexError):  # ValueError also when the pieces cannot be read
        return None  # a piece that is not what the signed head names
    names = {library_name(data) for data in encoded.values()}
    if not names <= set(blob.builtins):
        return None
    from hie_tasks.libraries.builtin import builtin_library

    libraries = {name: builtin_library(name, blob.workspace_text) for name in sorted(names)}
    planned = [decode_check(encoded[p], libraries[library_name(encoded[p])]) for p in positions]

    from hie_tasks.engine.planned import Plan
    from hie_tasks.engine.runner import Runner, RunOptions
    from hie_tasks.incremental.session import IncrementalSession
    from hie_tasks.incremental.store import ResultStore

    store, warnings = ResultStore.try_open(req.cache_dir)
    if store is None or warnings:
        if store is not None:
            store.close()
        return None
    session = IncrementalSession(store, snapshot=False)
    try:
        statuses = list(blob.statuses)
        others = totals_of(statuses, 0, len(statuses) - len(positions), leaving=[statuses[p] for p in positions])
        for library in libraries.values():
            library.begin_run()
        # One commit for the run row, the few verdicts and their reasons, not one each: a rerun this small
        # killed half-way loses at most these few checks, which the next run reruns. Built-ins run on this
        # thread (only libraries that wait get threads), so no other thread waits on the held lock.
        with store.transaction():
            report = Runner(blob.workspace, session).run(Plan(checks=planned), RunOptions(jobs=blob.jobs),
                                                         others=others)
        import hie_tasks.secret as secret

        late = [*secret.take_warnings(), *store.take_warnings(), *session.warnings]
        rerun_outcomes = dict(zip(positions, report.outcomes, strict=True))
        for pos, outcome in rerun_outcomes.items():
            statuses[pos] = outcome.status.value
            prior.statuses[pos] = outcome.status.value
        blob.statuses = statuses
        totals = totals_of(statuses, blob.skipped, others.cached + report.totals.cached)
        code = EXIT_OK if totals.failed == 0 and totals.errors == 0 else EXIT_FAILED
        answer = _Answer(blob, out_parts, prior, rerun_outcomes)
        data = answer.now(totals, (time.perf_counter() - started) * 1000)
        if data is None:
            return None
        try:
            memo.put(sys.stderr, err)
            memo.put(sys.stdout, *data)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            memo.remove(req)
            return EXIT_FAILED
        if late:
            memo.late_warnings.extend(late)
            memo.remove(req)  # this run printed warnings a replay would not repeat
            return code
        why = _remember(req, answer, err, planned, session, files, now, racy, edited,
                        dict(zip(dirs, dir_sigs, strict=True)), absent, nofiles, code, tag)
        if why is not None:
            memo.remove(req)
        return code
    finally:
        session.close()
        for library in libraries.values():
            library.close()


class _Answer:
    """The memo's report with the rerun checks' results put in (and those of earlier partial reruns, `prior`):
    this run's answer, and the next run's (every check replayed) for the memo or its delta."""

    def __init__(self, blob: Blob, out_parts: list[bytes], prior: _Prior, rerun: dict[int, CheckOutcome]) -> None:
        self.blob, self.out_parts, self.prior, self.rerun = blob, out_parts, prior, rerun
        self.enc, self.errors = blob.encoding[0] or "utf-8", blob.encoding[1] or "strict"

    def now(self, totals: Totals, duration_ms: float) -> list[bytes | memoryview] | None:
        """This run's answer, in pieces to print one after the other."""
        try:
            if self.blob.layout[0] == "json":
                head = head_text(totals, duration_ms)
                if head is None:
                    return None
                _kind, starts, ends = self.blob.layout
                return spliced_pieces(self.out_parts[1], starts, ends, {**self.prior.entries, **self._entries()},
                                      head.encode(self.enc, self.errors))
            return [self._human(totals, duration_ms).encode(self.enc, self.errors)]
        except (UnicodeError, LookupError):
            return None

    def kept(self, totals: Totals, whole: bool) -> tuple[list[bytes], str | None] | None:
        """The next run's answer cut where its duration goes (`memo.split_slot`), as the memo keeps it. With
        `whole` the blob's layout follows it (the memo is written whole); without, `prior` gathers the
        changes since the memo for its delta. None when it cannot be cut."""
        for outcome in self.rerun.values():
            outcome.cached, outcome.cache_source = True, "local"
        try:
            if self.blob.layout[0] == "json":
                head = head_text(totals, memo.SENTINEL_MS)
                split = memo.split_slot(head) if head is not None else None
                if split is None or len(split[0]) != 2:
                    return None
                before, after = (part.encode(self.enc, self.errors) for part in split[0])
                if not whole:
                    self.prior.after = after
                    self.prior.entries.update(self._entries())
                    return [before, b""], split[1]
                body, starts, ends = self._spliced(after)
                self.blob.layout = ("json", starts, ends)
                return [before, body], split[1]
            text = self._human(totals, memo.SENTINEL_MS)
            split = memo.split_slot(text)
            if split is None:
                return None
            _kind, label, data = self.blob.layout
            rerun = {i: outcome_data(o) for i, o in self.rerun.items()}
            self.prior.human.update(rerun)
            self.blob.layout = ("human", label, [rerun.get(i, d) for i, d in enumerate(data)])
            parts = [part.encode(self.enc, self.errors) for part in split[0]]
            self.prior.parts = parts
            return parts, split[1]
        except (UnicodeError, LookupError):
            return None

    def ranges(self) -> list[tuple[int, int, bytes]]:
        """The delta's byte ranges over the memo's answer: the head after the duration, then every entry
        changed since the memo."""
        _kind, starts, ends = self.blob.layout
        assert self.prior.after is not None
        return [(0, starts[0], self.prior.after),
                *((starts[p], ends[p], self.prior.entries[p]) for p in sorted(self.prior.entries))]

    def _entries(self) -> dict[int, bytes]:
        from hie_tasks.output.json_report import result_text

        return {pos: result_text(o).encode(self.enc, self.errors) for pos, o in self.rerun.items()}

    def _spliced(self, head: bytes) -> tuple[bytes, list[int], list[int]]:
        _kind, starts, ends = self.blob.layout
        return splice(self.out_parts[1], starts, ends, {**self.prior.entries, **self._entries()}, head)

    def _human(self, totals: Totals, duration_ms: float) -> str:
        """The terminal report of every outcome, as the full run prints it (hie_tasks/cli/cmd_run.py)."""
        from hie_tasks.engine.results import RunReport
        from hie_tasks.output.consoles import auto_mode, make_console
        from hie_tasks.output.human import HumanReporter

        _kind, label, data = self.blob.layout
        outcomes = [self.rerun[i] if i in self.rerun else outcome_from(d) for i, d in enumerate(data)]
        out = Capture(sys.stdout)
        reporter = HumanReporter(make_console(out, auto_mode(os.environ.get("NO_COLOR"))),  # type: ignore[arg-type]
                                 show_passed=True, summarize_replayed=True)
        with reporter:
            reporter.header(label, self.blob.workspace, len(outcomes))
            reporter.on_outcomes(outcomes)
            reporter.summary(RunReport(outcomes=outcomes, totals=totals, duration_ms=duration_ms), cache_line=True)
        return out.text()


def _remember(req: memo.Request, answer: _Answer, err: bytes, planned: list[PlannedCheck], session: Any,
              files: list[str], now: list[Any], racy: list[tuple[str, str]], edited: list[int],
              dirs: dict[str, Any], absent: list[str], nofiles: list[str], code: int, base: str) -> str | None:
    """The memo again, for the next run: the rerun checks' entries as a replaying run prints them, their
    inputs as they now are, every other input as verified at the start of this run — as a delta over the
    memo (`base`: its MAC) while it stays small and the files are the memo's, else the memo whole. Returns
    why not."""
    from hie_tasks.engine.runner import check_key

    blob, prior = answer.blob, answer.prior
    workspace = blob.workspace
    changed = {files[i] for i in edited}
    digests: dict[str, str | None] = {}
    added: dict[str, set[int]] = {}
    owners = blob.owners
    for pos, check in zip(answer.rerun, planned, strict=True):
        found = session.next_run_inputs([check_key(check)], workspace)
        if found is None:
            return "a rerun check would run again"
        inputs, trees = found
        if any(tree.root not in dirs for tree in trees):
            return "a rerun check lists a directory the memo does not cover"
        for path, digest in inputs.items():
            i = memo.find_sorted(files, path)
            if i is None:
                added.setdefault(path, set()).add(pos)
            else:
                owned = owners[i]
                if owned is None:
                    return "planning read a file a rerun check reads"
                if pos not in owned:
                    owners[i] = prior.owners[i] = tuple(sorted({*owned, pos}))
            digests[path] = digest
    # Unchanged files keep the stat verified at the start; the rerun ones the stat taken before they were read.
    stats = session.digester.stats
    sigs = list(now)
    for i in edited:
        sigs[i] = prior.sigs[i] = stats.get(files[i]) or memo.file_sig(files[i])
    whole = bool(added) or len(prior.sigs) + len(prior.statuses) > memo.DELTA_MAX
    kept = answer.kept(totals_of(blob.statuses, blob.skipped, len(blob.statuses)), whole)
    if kept is None:
        return "the answer cannot be cut at its duration"
    out_parts, slot = kept
    paths = files
    if added:
        merged = sorted({*files, *added})
        old = dict(zip(files, zip(sigs, owners, strict=True), strict=True))
        sigs = []
        merged_owners: list[tuple[int, ...] | None] = []
        for path in merged:
            sig, owned = old.get(path) or (stats.get(path) or memo.file_sig(path), tuple(sorted(added[path])))
            sigs.append(sig)
            merged_owners.append(owned)
        paths = merged
        changed |= set(added)
        blob.owners = Owners.of(merged_owners)
    limit = req.started_ns - session.digester.racy_window_ns
    if added:
        fresh = [(p, s) for p, s in zip(paths, sigs, strict=True) if p in changed]
    else:  # the memo's files: only the edited ones changed (not a pass over every file)
        fresh = [(files[i], sigs[i]) for i in sorted(set(edited))]
    new_racy = memo.racy_entries([p for p, _s in fresh], [s for _p, s in fresh], digests, limit)
    if isinstance(new_racy, str):
        return new_racy
    racy_now = sorted([*(entry for entry in racy if entry[0] not in changed), *new_racy])
    if not whole:
        delta = memo.Delta(base=base, exit_code=code, head=out_parts[0],
                           ranges=answer.ranges() if blob.layout[0] == "json" else [],
                           parts=prior.parts, slot=slot, sigs=prior.sigs, racy=racy_now,
                           blob=(prior.statuses, prior.owners, prior.human))
        return memo.store_delta(req, delta)
    try:
        partial = blob.dumps()  # read back before the memo's files are replaced
    except ValueError as exc:
        return str(exc)
    return memo.store_body(req, exit_code=code, out_parts=out_parts, slot=slot, err=err, paths=paths, sigs=sigs,
                           racy=racy_now, dirs=dirs, absent=absent, nofiles=nofiles,
                           racy_window_ns=session.digester.racy_window_ns, partial=partial)



