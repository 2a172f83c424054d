"""Execute a plan's checks: replay what the result store vouches for, run the rest, in parallel.

Order and verdicts never depend on `jobs`: every check is submitted up front and outcomes are reported in
plan order. A library that is not thread-safe serialises itself (`Library.lock`). Nothing a library does —
a LibraryError, an unexpected exception, a crashed plugin — stops the run: it becomes that check's Error
verdict.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from hie_tasks.engine.interpreter import Plan, PlannedCheck
from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.incremental.fingerprint import FingerprintParts
from hie_tasks.incremental.session import MISS, CheckKey, IncrementalSession
from hie_tasks.libraries.base import CallContext, Library, Purity
from hie_tasks.model.codec import dumps_canonical, encode_value
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Status, Value

ProgressCallback = Callable[[CheckOutcome, int, int], None]


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass
class RunOptions:
    jobs: int = 0
    limit: int | None = None


def check_key(planned: PlannedCheck) -> CheckKey:
    return CheckKey(planned.spec_file, planned.element, planned.index, planned.text)


def fingerprint_parts(planned: PlannedCheck, workspace: str) -> FingerprintParts:
    library = planned.library
    assert library is not None
    return FingerprintParts(
        text=planned.text,
        spec_file=planned.spec_file,
        line=planned.span.line,
        library=library.name,
        identity=library.identity(),
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


class Runner:
    def __init__(self, workspace: str, session: IncrementalSession | None = None) -> None:
        self.workspace = workspace
        self.session = session

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
        total = len(runnable)
        if self.session is not None:
            self.session.begin_run()
        outcomes: list[CheckOutcome]
        if jobs <= 1 or total <= 1:
            outcomes = []
            for planned in runnable:
                outcomes.append(self._execute(planned))
                if progress is not None:
                    progress(outcomes[-1], len(outcomes), total)
        else:
            outcomes = self._run_parallel(runnable, jobs, progress)
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

    def _run_parallel(
        self, runnable: list[PlannedCheck], jobs: int, progress: ProgressCallback | None
    ) -> list[CheckOutcome]:
        done = 0
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="hie-check") as pool:
            futures: list[Future[CheckOutcome]] = [pool.submit(self._execute, p) for p in runnable]
            outcomes: list[CheckOutcome] = []
            for future in futures:
                outcome = future.result()
                outcomes.append(outcome)
                done += 1
                if progress is not None:
                    progress(outcome, done, len(runnable))
        return outcomes

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
        )

    def _execute(self, planned: PlannedCheck) -> CheckOutcome:
        if planned.error is not None or planned.library is None:
            return self._outcome(planned, CheckResult.errored(planned.error or "Check could not be evaluated"))
        library = planned.library
        session = self.session
        key = check_key(planned)
        parts = fingerprint_parts(planned, self.workspace)
        purity = library.purity()
        if session is not None:
            replay = session.lookup(key, parts, purity)
            if replay is not None:
                outcome = self._outcome(planned, CheckResult(Status(replay.status), replay.message))
                outcome.cached = True
                outcome.duration_ms = replay.duration_ms
                outcome.output = list(replay.output)
                return outcome
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
