"""Execute a plan's checks: replay what the result store vouches for, run the rest, in parallel.

Order and verdicts never depend on `jobs`: outcomes are reported in plan order. Replay lookups happen in
the calling thread, in plan order, and only checks that must run *and wait* are handed to the thread pool:
calls into external plugins, which spend their time in another process. Built-in checks hold the GIL and
WASM calls are short CPU bursts, so threads only add hand-offs (measured: the default `-j` was never faster
on 2 cores); they run inline, in the calling thread. Each worker thread talks to its own process of an
external plugin (a "lane", started on its first call and closed at the end of the run), since one plugin
process answers one request at a time. `-j N` bounds the lanes; the default is `DEFAULT_LANES` when the
plan has external checks to run and no thread at all otherwise. Nothing a library does — a LibraryError, an unexpected exception, a crashed
plugin — stops the run: it becomes that check's Error verdict.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time

from hie_tasks.engine.planned import Plan, PlannedCheck
from hie_tasks.engine.results import (
    CheckOutcome,
    RunReport,
    Totals,
    pack_locations,
    relative_locations,
    split_locations,
)
from hie_tasks.incremental.fingerprint import FingerprintParts
from hie_tasks.incremental.session import MISS, STABLE_ERROR, CheckKey, IncrementalSession
from hie_tasks.libraries.base import CallContext, Library, Purity
from hie_tasks.libraries.limits import run_deadline
from hie_tasks.model.codec import dumps_canonical, encode_value
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.record import Record
from hie_tasks.model.values import CheckResult, Status, Value

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from concurrent.futures import Future, ThreadPoolExecutor
    from typing import TypeAlias

    ProgressCallback: TypeAlias = Callable[[CheckOutcome, int, int], None]


#: Worker threads (and so processes per external plugin) when `-j` is not given: plugin calls mostly wait
#: (on a linter, a server, the disk), so more lanes than the 2 cores CI machines have still pay.
DEFAULT_LANES = 4


_RUNS_STARTED = [0]


def _first_run_in_process() -> bool:
    _RUNS_STARTED[0] += 1
    return _RUNS_STARTED[0] == 1


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a spec is parsed, planned or (first) run.

    They build large graphs of long-lived objects (syntax trees, scopes, planned checks, fingerprints) and
    almost no garbage; every collection walked all of them again. Measured with gc callbacks on a no-op
    run: ~0.1–0.2 s of collections at 10k files / 2k checks, 1–1.9 s at 100k / 20k, more than any other
    single cost. At the end what was built is frozen, so the collections that resume do not walk it either
    (a young collection right after would); reference counting still frees it. A later run in the same
    process unfreezes (see `Runner.run`).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def default_jobs() -> int:
    return max(DEFAULT_LANES, os.cpu_count() or 1)


#: A lane (another plugin process) is added per this many checks of the plugin that must run.
LANE_MIN_CHECKS = 8


def waits(library: Library) -> bool:
    """Whether a check of `library` spends its time waiting rather than computing in this process."""
    return library.kind == "external"


class RunOptions(Record):
    __slots__ = ("jobs", "limit")

    jobs: int
    limit: int | None

    def __init__(self, jobs: int = 0, limit: int | None = None) -> None:
        self.jobs = jobs
        self.limit = limit


def check_key(planned: PlannedCheck) -> CheckKey:
    return CheckKey(planned.spec_file, planned.element, planned.index, planned.text)


def fingerprint_parts(planned: PlannedCheck, workspace: str, identity: str | None = None) -> FingerprintParts:
    """`identity`: the library's identity when the caller already has it (the runner asks once per run)."""
    library = planned.library
    assert library is not None
    return FingerprintParts(
        text=planned.text,
        spec_file=planned.spec_file,
        line=planned.span.line,
        library=library.name,
        identity=library.identity() if identity is None else identity,
        function=planned.function,
        args=list(planned.args),
        workspace=workspace,
    )


def args_json(args: list[Value]) -> str:
    return dumps_canonical([encode_value(a) for a in args])


def cached_selector_call(session: IncrementalSession) -> Callable[[Library, str, list[Value], CallContext], Value]:
    """A selector-call hook for the interpreter: pure libraries' selectors are answered from the store."""

    def call(library: Library, function: str, args: list[Value], ctx: CallContext) -> Value:
        if library.purity() is not Purity.PURE:
            return library.call(function, args, ctx)
        key_args = args_json(args)
        cached = session.selector_lookup(library.identity(), function, key_args, ctx.workspace)
        if cached is not MISS:
            return cached
        value = library.call(function, args, ctx)
        session.selector_record(library.identity(), function, key_args, value, ctx)
        return value

    return call


class _Pending(Record):
    """A check that was not replayed and must run, with what `record` needs afterwards."""

    __slots__ = ("planned", "library", "key", "parts", "purity")

    planned: PlannedCheck
    library: Library
    key: CheckKey
    parts: FingerprintParts
    purity: Purity

    def __init__(self, planned: PlannedCheck, library: Library, key: CheckKey, parts: FingerprintParts,
                 purity: Purity) -> None:
        self.planned = planned
        self.library = library
        self.key = key
        self.parts = parts
        self.purity = purity


class Runner:
    def __init__(self, workspace: str, session: IncrementalSession | None = None) -> None:
        self.workspace = workspace
        self.session = session
        #: library identities of this run, by library object (asked once, not once per check)
        self._identities: dict[int, tuple[Library, str]] = {}
        self._lanes = threading.local()
        self._lanes_lock = threading.Lock()
        self._threads = 0
        #: per library (by id): its instances, the first being the registry's own, and how many it may have
        self._lane_sets: dict[int, list[Library]] = {}
        self._lane_caps: dict[int, int] = {}
        self._siblings: list[Library] = []

    def run(self, plan: Plan, options: RunOptions, progress: ProgressCallback | None = None, *,
            others: Totals | None = None) -> RunReport:
        """`others`: the rest of a run whose other checks were answered elsewhere (the run memo's partial
        rerun), counted into the run's row in the store as this run's checks are."""
        started = time.perf_counter()
        report = RunReport(diagnostics=list(plan.diagnostics))
        runnable: list[PlannedCheck] = []
        for planned in plan.checks:
            if planned.skipped or (options.limit is not None and len(runnable) >= options.limit):
                report.totals.skipped += 1
                continue
            runnable.append(planned)
        jobs = options.jobs or default_jobs()
        if self.session is not None:
            self.session.begin_run()
            if self.session.remote is not None:
                # One batched remote look-up for every local miss, before anything runs.
                self.session.prefetch([
                    (check_key(p), fingerprint_parts(p, self.workspace, self._identity(p.library)), p.library.purity())
                    for p in runnable if p.error is None and p.library is not None
                ])
        # Everything alive now (spec, plan, libraries) outlives the run: keep the collector from walking it
        # again and again (a full collection over a big plan cost more than a tenth of a no-op run). Freezing
        # only exempts objects from cycle detection; reference counting still frees them.
        if _first_run_in_process():
            # A one-shot command (the common case): everything built so far and by the run outlives it, and
            # the run makes little cyclic garbage, so the collector is paused and what exists at the end is
            # frozen for good. Collections during a no-op cost ≈ 1 s at 20k checks before this.
            with collector_paused():
                outcomes = self._run_all(runnable, jobs, progress)
        else:
            # A long-lived process (watch): freeze for the run only, so that an old plan's cycles can be
            # collected afterwards (the unfreeze also releases what the first run and the plans froze).
            gc.freeze()
            try:
                outcomes = self._run_all(runnable, jobs, progress)
            finally:
                gc.unfreeze()
        for outcome in outcomes:
            report.outcomes.append(outcome)
            report.totals.add(outcome)
        if self.session is not None:
            t, o = report.totals, others or Totals()
            self.session.end_run({"total": t.total + o.total, "passed": t.passed + o.passed,
                                  "failed": t.failed + o.failed, "errors": t.errors + o.errors,
                                  "cached": t.cached + o.cached})
        report.duration_ms = (time.perf_counter() - started) * 1000
        return report

    def _run_all(self, runnable: list[PlannedCheck], jobs: int, progress: ProgressCallback | None
                 ) -> list[CheckOutcome]:
        total = len(runnable)
        if jobs > 1 and total > 1:
            return self._run_parallel(runnable, jobs, progress)
        outcomes: list[CheckOutcome] = []
        for planned in runnable:
            outcomes.append(self._execute(planned))
            if progress is not None:
                progress(outcomes[-1], len(outcomes), total)
        return outcomes

    def _run_parallel(
        self, runnable: list[PlannedCheck], jobs: int, progress: ProgressCallback | None
    ) -> list[CheckOutcome]:
        total = len(runnable)
        slots: list[CheckOutcome | Future[CheckOutcome]] = []
        reported = 0

        def report(block: bool) -> int:
            # Outcomes go out in plan order, each as soon as it and every earlier one are known.
            done = reported
            while done < len(slots):
                slot = slots[done]
                if not isinstance(slot, CheckOutcome):
                    if not block and not slot.done():
                        break
                    slot = slots[done] = slot.result()
                done += 1
                if progress is not None:
                    progress(slot, done, total)
            return done

        # Started at the first check that must run: a run that replays everything needs no threads (nor the
        # import of concurrent.futures and logging).
        pool: ThreadPoolExecutor | None = None
        try:
            # Replays first (they are cheap and in order), so that the lanes can be sized by what must run.
            prepared = [self._prepare(planned) for planned in runnable]
            waiting: dict[int, int] = {}
            for ready in prepared:
                if isinstance(ready, _Pending) and waits(ready.library):
                    waiting[id(ready.library)] = waiting.get(id(ready.library), 0) + 1
            # A lane costs a plugin start-up: one per LANE_MIN_CHECKS checks still to run, at most `jobs`.
            self._lane_caps = {lib: max(1, min(jobs, n // LANE_MIN_CHECKS)) for lib, n in waiting.items()}
            workers = min(jobs, max(self._lane_caps.values(), default=1))
            for ready in prepared:
                if isinstance(ready, _Pending) and (workers == 1 or not waits(ready.library)):
                    slots.append(self._run(ready))
                elif isinstance(ready, _Pending):
                    if pool is None:
                        from concurrent.futures import ThreadPoolExecutor

                        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hie-check")
                    slots.append(pool.submit(self._run_in_lane, ready))
                else:
                    slots.append(ready)
                reported = report(block=False)
            report(block=True)
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): drop queued checks and return at once, so the caller can stop
            # plugin processes — which is what unblocks the checks still running in the pool.
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            self._close_siblings()
            raise
        if pool is not None:
            pool.shutdown(wait=True)
        self._close_siblings()
        return [slot for slot in slots if isinstance(slot, CheckOutcome)]

    def _run_in_lane(self, pending: _Pending) -> CheckOutcome:
        """`_run` on this worker thread's lane of the check's library (see the module docstring)."""
        local = self._lanes.__dict__
        ordinal = local.get("ordinal")
        if ordinal is None:
            with self._lanes_lock:
                ordinal = local["ordinal"] = self._threads
                self._threads += 1
        original = pending.library
        with self._lanes_lock:
            lanes = self._lane_sets.setdefault(id(original), [original])
            # A lane per worker thread up to the library's cap; threads beyond it share lanes (and the
            # lane's lock serialises them).
            cap = self._lane_caps.get(id(original), 1)
            if ordinal < cap and ordinal >= len(lanes):
                while len(lanes) <= ordinal:
                    sibling = _sibling(original)
                    lanes.append(sibling)
                    if sibling is not original:
                        self._siblings.append(sibling)
            library = lanes[ordinal % len(lanes)]
        if library is original:
            return self._run(pending)
        return self._run(_Pending(pending.planned, library, pending.key, pending.parts, pending.purity))

    def _close_siblings(self) -> None:
        with self._lanes_lock:
            siblings, self._siblings = self._siblings, []
            self._lane_sets.clear()
            self._lane_caps.clear()
            self._threads = 0
        for library in siblings:
            library.close()

    def _outcome(self, planned: PlannedCheck, result: CheckResult) -> CheckOutcome:
        return CheckOutcome(
            element=planned.element,
            check=planned.text,
            status=result.status,
            message=result.message,
            file=planned.span.file,
            line=planned.span.line,
            column=planned.span.column,
            library=planned.library.name if planned.library else None,
            locations=relative_locations(result.locations, self.workspace),
            function=planned.function,
        )

    def _execute(self, planned: PlannedCheck) -> CheckOutcome:
        ready = self._prepare(planned)
        return self._run(ready) if isinstance(ready, _Pending) else ready

    def _identity(self, library: Library) -> str:
        known = self._identities.get(id(library))
        if known is None:
            known = self._identities[id(library)] = (library, library.identity())
        return known[1]

    def _prepare(self, planned: PlannedCheck) -> CheckOutcome | _Pending:
        """The outcome when it is known without running the check (replayed, or not evaluable), else what
        running it needs."""
        if planned.error is not None or planned.library is None:
            return self._outcome(planned, CheckResult.errored(planned.error or "Check could not be evaluated"))
        library = planned.library
        session = self.session
        key = check_key(planned)
        parts = fingerprint_parts(planned, self.workspace, self._identity(library))
        purity = library.purity()
        if session is not None:
            replay = session.lookup(key, parts, purity)
            if replay is not None:
                outcome = self._outcome(planned, CheckResult(Status(replay.status), replay.message))
                outcome.cached = True
                outcome.cache_source = replay.source
                outcome.duration_ms = replay.duration_ms
                outcome.output, outcome.locations = split_locations(list(replay.output))
                return outcome
        return _Pending(planned, library, key, parts, purity)

    def _run(self, pending: _Pending) -> CheckOutcome:
        planned, library, session = pending.planned, pending.library, self.session
        key, parts, purity = pending.key, pending.parts, pending.purity
        ctx = CallContext(self.workspace)
        started = time.perf_counter()
        # Only answers the library gave are stored: a raised error may be transient (timeout, crashed
        # plugin), and replaying it would hide a fix that needs no input change.
        recordable = False
        try:
            run_deadline.check(f"'{planned.text}'")  # --timeout: nothing starts after the run's end
            result = library.check(planned.function, planned.args, ctx)
            recordable = True
        except LibraryError as exc:
            result = CheckResult.errored(exc.message)
        except Exception as exc:  # a library bug must not end the run; the verdict says what happened
            result = CheckResult.errored(f"internal error in library '{library.name}': {type(exc).__name__}: {exc}")
        duration_ms = (time.perf_counter() - started) * 1000
        outcome = self._outcome(planned, result)
        outcome.duration_ms = duration_ms
        outcome.output = list(ctx.output)
        if session is not None and recordable:
            ctx.output.extend(pack_locations(outcome.locations))
            # Only a built-in's word is taken that an Error is its answer, not a failure to give one.
            status = STABLE_ERROR if result.stable and library.kind == "builtin" else result.status.value
            session.record(key, parts, purity, status, result.message, ctx, duration_ms)
        return outcome


def _sibling(library: Library) -> Library:
    """Another instance of an external plugin, with its own process: same configuration, same identity.
    Any other library that waits is shared by its lanes as it is (its own lock decides)."""
    from hie_tasks.libraries.external import ExternalLibrary

    if not isinstance(library, ExternalLibrary):
        return library
    return ExternalLibrary(library.config, library.workspace)
