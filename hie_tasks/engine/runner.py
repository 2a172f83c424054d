"""Execute a plan's checks: replay what the result store vouches for, run the rest, in parallel.

Order and verdicts never depend on `jobs`: outcomes are reported in plan order. Replay lookups happen in
the calling thread, in plan order, and only checks that must run are handed to the thread pool: replaying
a verdict costs less than the hand-off to a worker and back. A library that is not thread-safe serialises
itself (`Library.lock`). Nothing a library does — a LibraryError, an unexpected exception, a crashed
plugin — stops the run: it becomes that check's Error verdict.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hie_tasks.engine.interpreter import Plan, PlannedCheck
from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.incremental.fingerprint import FingerprintParts
from hie_tasks.incremental.session import MISS, CheckKey, IncrementalSession
from hie_tasks.libraries.base import CallContext, Library, Purity
from hie_tasks.model.codec import dumps_canonical, encode_value
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Status, Value

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

ProgressCallback = Callable[[CheckOutcome, int, int], None]


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass
class RunOptions:
    jobs: int = 0
    limit: int | None = None


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
        cached = session.selector_lookup(library.identity(), function, key_args)
        if cached is not MISS:
            return cached
        value = library.call(function, args, ctx)
        session.selector_record(library.identity(), function, key_args, value, ctx)
        return value

    return call


@dataclass
class _Pending:
    """A check that was not replayed and must run, with what `record` needs afterwards."""

    planned: PlannedCheck
    library: Library
    key: CheckKey
    parts: FingerprintParts
    purity: Purity


class Runner:
    def __init__(self, workspace: str, session: IncrementalSession | None = None) -> None:
        self.workspace = workspace
        self.session = session
        #: library identities of this run, by library object (asked once, not once per check)
        self._identities: dict[int, tuple[Library, str]] = {}

    def run(self, plan: Plan, options: RunOptions, progress: ProgressCallback | None = None) -> RunReport:
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
        # Everything alive now (spec, plan, libraries) outlives the run: keep the collector from walking it
        # again and again (a full collection over a big plan cost more than a tenth of a no-op run). Freezing
        # only exempts objects from cycle detection; reference counting still frees them.
        gc.freeze()
        try:
            outcomes = self._run_all(runnable, jobs, progress)
        finally:
            gc.unfreeze()
        for outcome in outcomes:
            report.outcomes.append(outcome)
            report.totals.add(outcome)
        if self.session is not None:
            t = report.totals
            self.session.end_run(
                {"total": t.total, "passed": t.passed, "failed": t.failed, "errors": t.errors, "cached": t.cached}
            )
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
            for planned in runnable:
                ready = self._prepare(planned)
                if isinstance(ready, _Pending):
                    if pool is None:
                        from concurrent.futures import ThreadPoolExecutor

                        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="hie-check")
                    slots.append(pool.submit(self._run, ready))
                else:
                    slots.append(ready)
                reported = report(block=False)
            report(block=True)
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): drop queued checks and return at once, so the caller can stop
            # plugin processes — which is what unblocks the checks still running in the pool.
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            raise
        if pool is not None:
            pool.shutdown(wait=True)
        return [slot for slot in slots if isinstance(slot, CheckOutcome)]

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
                outcome.duration_ms = replay.duration_ms
                outcome.output = list(replay.output)
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
            session.record(key, parts, purity, result.status.value, result.message, ctx, duration_ms)
        return outcome
