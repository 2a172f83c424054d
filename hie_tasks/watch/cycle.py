"""One watch cycle: reload what changed (config, libraries, spec), re-plan, run, and describe the result.

A cycle re-plans only as far as the burst requires (`replan.SelectorMemo`): a content edit of a file that
no selector read keeps the previous plan as it is; otherwise the spec is walked again and only the
selectors whose listings or contents include a changed path are called again. The checks the reverse index
ties to the changed paths go through the project's incremental session (which confirms every change by
stat and digest); every other verdict is carried over, so the verdicts are exactly those of a fresh `run`.

What the project caches decides how much is rebuilt:
- `hielements.toml` or a configured library's file (a `.wasm`, an external plugin given by path) changed →
  a fresh `Project`: config reloaded, libraries rebuilt (WASM modules recompile through the module cache);
  the library's identity digest changes, so its checks' fingerprints rerun them.
- a `.hie` file changed → the spec is parsed again on the same project.
A config or spec that no longer loads leaves the previous good project and spec in force: the cycle reports
the diagnostics and runs the old plan, and the next good edit resumes normally.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hie_tasks.config import ConfigError, ExternalLibraryConfig, WasmLibraryConfig
from hie_tasks.diagnostics import Diagnostic
from hie_tasks.engine.checksites import EMPTY_SCOPE
from hie_tasks.engine.interpreter import direct_selector_call
from hie_tasks.engine.planned import Plan, PlannedCheck
from hie_tasks.engine.project import Project
from hie_tasks.engine.results import CheckOutcome, RunReport, Totals
from hie_tasks.engine.runner import cached_selector_call, check_key
from hie_tasks.incremental.session import CheckKey
from hie_tasks.incremental.store import ResultStore
from hie_tasks.lang.loader import SpecReadError, SpecSet
from hie_tasks.libraries.base import Purity, TreeDep
from hie_tasks.model.values import Status
from hie_tasks.watch.index import (
    CheckInputs,
    ReverseIndex,
    ScopeInputs,
    absolute,
    build_index,
    check_inputs,
    plan_scope_inputs,
)
from hie_tasks.watch.replan import SelectorMemo, classify

CONFIG_NAME = "hielements.toml"
SPEC_SUFFIX = ".hie"

ProjectFactory = Callable[[], Project]


class Control:
    """What a changed control file asks for; a burst's needs are the union of its paths' needs."""

    SPEC = "spec"
    PROJECT = "project"


@dataclass
class CycleReport:
    number: int
    #: changed paths, workspace-relative where possible, sorted
    changed: list[str]
    #: checks that really executed this cycle (replayed ones are not repeated), in plan order
    reran: list[CheckOutcome] = field(default_factory=list)
    #: the full run; None when nothing could run (no good spec yet)
    report: RunReport | None = None
    #: spec/config diagnostics of this cycle (a broken edit) and scope-evaluation diagnostics
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    #: "Type: message" of an unexpected failure inside the cycle (watching continues)
    error: str | None = None
    #: a config or spec edit did not load, so the previous good one was used for this cycle
    kept_previous: bool = False
    duration_ms: float = 0.0
    #: file events were lost, so this cycle reloaded and re-planned everything instead of trusting `changed`
    events_lost: bool = False
    #: selector calls this cycle really evaluated (None: the previous plan was kept without walking the spec)
    selectors_evaluated: int | None = None

    @property
    def initial(self) -> bool:
        return self.number == 0


def _runnable(plan: Plan) -> list[PlannedCheck]:
    """The checks a run executes, in the order its report lists their outcomes."""
    return [p for p in plan.checks if not p.skipped]


def _tally(totals: Totals, outcome: CheckOutcome, sign: int) -> None:
    totals.total += sign
    if outcome.status is Status.PASS:
        totals.passed += sign
    elif outcome.status is Status.FAIL:
        totals.failed += sign
    else:
        totals.errors += sign
    if outcome.cached:
        totals.cached += sign


def _replayed(outcome: CheckOutcome) -> CheckOutcome:
    """The outcome as a fresh run would report it: replayed from the store (`replace` is several times
    slower, and a cycle carries thousands over)."""
    if outcome.cached:
        return outcome
    copied = copy.copy(outcome)
    copied.cached = True
    return copied


def _tree_signature(root: str) -> object:
    """Every directory's and file's stat below `root` (inputs outside the workspace are few and small)."""
    found: list[object] = [stat_signature(root)]
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        found.extend((os.path.join(folder, n), stat_signature(os.path.join(folder, n))) for n in sorted(names))
    return tuple(found)


def stat_signature(path: str) -> object:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)


def display_path(workspace: str, path: str) -> str:
    rel = os.path.relpath(path, workspace)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


class CycleRunner:
    """Holds the current project, the last good spec and its reverse index across cycles."""

    def __init__(self, factory: ProjectFactory) -> None:
        self._factory = factory
        self.project: Project = factory()
        self.workspace = self.project.workspace
        self.spec: SpecSet | None = None
        self.index: ReverseIndex | None = None
        #: absolute path → Control.* for the files a cycle must reload when they change
        self.control: dict[str, str] = {}
        self._config_ok = False
        self._reader: ResultStore | None = None
        #: the previous plan's verdicts by check, for a cycle on a new plan (built only then)
        self._previous: dict[CheckKey, CheckOutcome] = {}
        self._recorded: dict[CheckKey, CheckInputs] = {}
        #: the plan in force, its check keys (runnable checks, in order) and the selector answers behind it
        self.plan: Plan | None = None
        self._keys: list[CheckKey] = []
        #: for the plan in force: its runnable checks, each key's position, and the positions a fresh run
        #: would execute whatever changed (errors, impure libraries) or whose last verdict is not yet shown
        #: as replayed — kept up to date cycle by cycle, so a cycle costs what it runs, not the plan's size
        self._runnable: list[PlannedCheck] = []
        self._positions: dict[CheckKey, int] = {}
        self._always: set[int] = set()
        self._uncached: set[int] = set()
        self._memo: SelectorMemo | None = None
        #: the kept plan's per-scope inputs (built once per plan, not once per cycle)
        self._scope_inputs: tuple[Plan, ScopeInputs] | None = None
        #: the last cycle's full report: what a fresh run would print, durations aside
        self.last_report: RunReport | None = None
        #: the config / the spec on disk does not load (the previous good one may still be in force)
        self.config_broken = False
        self.spec_broken = False
        #: stat signatures, taken after each cycle, of the result store's files and of the control files:
        #: a change to either that no file event reported (another process, a directory outside the
        #: watched tree) is found by comparing them
        self.store_signature: tuple[object, ...] = ()
        #: the last cycle's unexpected error, if it had one (its state is then not to be trusted)
        self.last_error: str | None = None
        self.control_signature: dict[str, object] = {}
        self.outside_signature: dict[str, tuple[bool, object]] = {}

    # ------------------------------------------------------------------ classification

    def control_kind(self, path: str) -> str | None:
        known = self.control.get(path)
        if known is not None:
            return known
        if path.endswith(SPEC_SUFFIX):
            # Any .hie may be an import a broken spec is waiting for; re-parsing is cheap.
            return Control.SPEC
        if path == os.path.join(self.workspace, CONFIG_NAME):
            return Control.PROJECT
        return None

    @property
    def broken(self) -> bool:
        """The config or the spec on disk does not load."""
        return self.config_broken or self.spec_broken

    @property
    def healthy(self) -> bool:
        """A good config and spec are in force, so the index is trustworthy."""
        return self._config_ok and self.spec is not None and self.index is not None

    def excluded_dirs(self) -> list[str]:
        """Directories this process writes to; their events are our own and must never start a cycle."""
        from hie_tasks.libraries.wasm.modcache import default_cache_root

        return [self.project.result_cache_dir(), self.project.options.module_cache_dir or default_cache_root()]

    # ------------------------------------------------------------------ one cycle

    def run_cycle(self, number: int, changed: dict[str, bool], events_lost: bool = False) -> CycleReport:
        """One cycle for the burst `changed`; `events_lost` means the burst may be incomplete, so the
        cycle reloads config and spec and runs the whole plan (the store still replays what is unchanged)."""
        started = time.perf_counter()
        cycle = CycleReport(number, sorted(display_path(self.workspace, p) for p in changed), events_lost=events_lost)
        try:
            self._cycle(cycle, changed)
        except Exception as exc:  # a cycle must never end watching; the report says what happened
            cycle.error = f"{type(exc).__name__}: {exc}"
        self.last_error = cycle.error
        self.store_signature = self.current_store_signature()
        self.control_signature = {path: stat_signature(path) for path in self.control}
        outside = self.index.outside if self.index is not None else {}
        self.outside_signature = {path: (is_dir, _tree_signature(path) if is_dir else stat_signature(path))
                                  for path, is_dir in outside.items()}
        cycle.duration_ms = (time.perf_counter() - started) * 1000
        return cycle

    def current_store_signature(self) -> tuple[object, ...]:
        if not self.project.options.use_store:
            return ()
        from hie_tasks.incremental.store import DB_NAME

        base = os.path.join(self.project.result_cache_dir(), DB_NAME)
        # Not the -shm file: readers touch it too.
        return (stat_signature(base), stat_signature(base + "-wal"))

    def changed_control_files(self) -> dict[str, bool]:
        """Control files, and inputs outside the workspace (which no recursive watch sees), whose stat
        signature differs from the one taken after the last cycle."""
        changed = {path: False for path, sig in self.control_signature.items() if stat_signature(path) != sig}
        for path, (is_dir, sig) in self.outside_signature.items():
            if (_tree_signature(path) if is_dir else stat_signature(path)) != sig:
                changed[path] = is_dir
        return changed

    def _cycle(self, cycle: CycleReport, changed: dict[str, bool]) -> None:
        needs = {self.control_kind(p) for p in changed}
        if cycle.events_lost:
            needs.add(Control.PROJECT)
        needs.discard(None)
        first = cycle.initial
        if first or Control.PROJECT in needs or not self._config_ok:
            self._reload_project(cycle, first)
            needs.add(Control.SPEC)
        if not self._config_ok:
            return  # no configuration has loaded yet: nothing can be planned
        if Control.SPEC in needs or self.spec is None:
            self._reload_spec(cycle)
        if self.spec is None:
            return
        full = first or bool(needs) or self.plan is None
        focus = None if full else self._focus(changed)
        plan, walked = self._plan_for(changed, full, cycle)
        if walked and self.last_report is not None and len(self._keys) == len(self.last_report.outcomes):
            self._previous = dict(zip(self._keys, self.last_report.outcomes, strict=True))
        if walked:
            self._runnable = _runnable(plan)
            self._keys = [check_key(p) for p in self._runnable]
            self._positions = {key: at for at, key in enumerate(self._keys)}
        report, ran = (self._run_kept(focus) if not walked and focus is not None and self.last_report is not None
                       else self._run(plan, focus))
        self._note_positions(report, ran, walked)
        cycle.report = report
        self.last_report = report
        cycle.diagnostics.extend(plan.diagnostics)
        # A broken edit's own text (already added) must stay: its diagnostics point into it.
        for file, text in self.spec.sources.items():
            cycle.sources.setdefault(file, text)
        cycle.reran = [o for o in report.outcomes if not o.cached]
        self._update_recorded(plan, report, ran, walked)
        if walked or self.index is None:
            self.index = build_index(plan, self.workspace, self._recorded)
        else:
            self._extend_index(plan, ran)

    # ------------------------------------------------------------------ planning only what can have changed

    def _selector_memo(self) -> SelectorMemo:
        if self._memo is None:
            project = self.project
            inner = cached_selector_call(project.session()) if project.options.use_store else direct_selector_call
            self._memo = SelectorMemo(inner)
        return self._memo

    def _plan_for(self, changed: dict[str, bool], full: bool, cycle: CycleReport) -> tuple[Plan, bool]:
        """The plan for this cycle and whether the spec was walked for it (False: the previous plan kept)."""
        assert self.spec is not None
        if full:
            # A new project or spec: answers may come from other libraries or mean other things.
            self._memo = None
        memo = self._selector_memo()
        previous = self.plan
        if previous is not None and not full:
            # Always drop what the burst affects, even when the spec is walked again anyway (the plan carries
            # diagnostics, a plugin's selector made it opaque): the walk answers from the memo, and an answer
            # kept past its change would carry the old scope — and its W010 "empty scope" — into the new plan.
            dropped = memo.invalidate(classify(changed, memo.listed()))
            if dropped == 0 and not previous.diagnostics and not memo.opaque:
                return previous, False
        memo.begin_plan()
        plan = self.project.plan_with(self.spec, memo)
        cycle.selectors_evaluated = memo.evaluated
        self.plan = plan
        return plan, True

    def _extend_index(self, plan: Plan, ran: set[CheckKey] | None) -> None:
        """After a cycle on the kept plan: add what the checks that ran read now (an index entry that no
        longer holds only makes a later change rerun one check too many)."""
        index = self.index
        assert index is not None
        if self._scope_inputs is None or self._scope_inputs[0] is not plan:
            self._scope_inputs = (plan, plan_scope_inputs(plan, self.workspace))
        scopes = self._scope_inputs[1]
        for planned, key in zip(_runnable(plan), self._keys, strict=True):
            if ran is None or key in ran:
                index.extend(key, check_inputs(planned, scopes, self._recorded.get(key)))

    # ------------------------------------------------------------------ running only what can have changed

    def _focus(self, changed: dict[str, bool]) -> set[CheckKey] | None:
        """The checks the previous cycle's index ties to the changed paths; None = all of them."""
        index = self.index
        if index is None or index.wildcard:
            return None
        focus: set[CheckKey] = set()
        for path, is_dir in changed.items():
            focus |= index.affected(path, is_dir)
        return focus

    def diagnostics_current(self) -> bool:
        """Whether the plan's diagnostics are those a fresh plan would derive now. Empty-scope warnings over
        built-in selectors are: the memo drops an answer on any change to what it listed, and a plan with
        diagnostics is re-walked on every change. A load failure, a selector error or a plugin's selector
        (opaque: what it read is unknown) may be cured by something no file event reports."""
        plan = self.plan
        if plan is None or not plan.diagnostics:
            return True
        memo = self._memo
        return (memo is not None and not memo.opaque
                and all(d.code == EMPTY_SCOPE and not d.is_error for d in plan.diagnostics))

    def replay_differs(self) -> bool:
        """Whether a fresh run now would not just replay the last report: some verdict in it is not yet
        shown as replayed, or some check (an error, an impure library) runs on every run."""
        return bool(self._always or self._uncached)

    def _note_positions(self, report: RunReport, ran: set[CheckKey] | None, walked: bool) -> None:
        """Keep `_always` / `_uncached` true for the report just made (all of it, or the positions that ran)."""
        if walked or ran is None:
            self._always, self._uncached = set(), set()
            positions: Iterable[int] = range(len(self._keys))
        else:
            positions = [self._positions[key] for key in ran]
            # Both `_run_kept` and `_run` show every check that did not run as the replay it now is: only
            # what ran this cycle can be fresh (left in, a cycle would run on every request to replay them).
            self._uncached = set()
        for at in positions:
            outcome, library = report.outcomes[at], self._runnable[at].library
            self._always.discard(at)
            if outcome.status is Status.ERROR or library is None or library.purity() is Purity.IMPURE:
                self._always.add(at)
            if not outcome.cached:
                self._uncached.add(at)

    def _run_kept(self, focus: set[CheckKey]) -> tuple[RunReport, set[CheckKey]]:
        """`_run` on the plan of the last cycle: the last report with the focused checks (and those a fresh
        run always executes) run again, and last cycle's fresh verdicts shown as the replays they now are."""
        last = self.last_report
        assert last is not None
        chosen = sorted({self._positions[key] for key in focus if key in self._positions} | self._always)
        plan = self.plan
        assert plan is not None
        partial = self.project.run_plan(Plan([self._runnable[at] for at in chosen], plan.diagnostics,
                                             plan.scopes, plan.scope_inputs))
        outcomes = list(last.outcomes)
        totals = last.totals.replace()
        changes = [(at, _replayed(outcomes[at])) for at in self._uncached if at not in chosen]
        changes += list(zip(chosen, partial.outcomes, strict=True))
        for at, outcome in changes:
            _tally(totals, outcomes[at], -1)
            _tally(totals, outcome, 1)
            outcomes[at] = outcome
        report = RunReport(outcomes=outcomes, totals=totals, diagnostics=list(plan.diagnostics),
                           duration_ms=partial.duration_ms)
        return report, {self._keys[at] for at in chosen}

    def _run(self, plan: Plan, focus: set[CheckKey] | None) -> tuple[RunReport, set[CheckKey] | None]:
        """Run the plan, executing only `focus` (plus what a fresh run could never replay).

        A check outside `focus` had none of its recorded inputs change since its last verdict, so the
        incremental session would replay that verdict; carrying it over skips re-hashing every scope of
        every check on each keystroke. Errors and impure libraries are never replayed, so they always run.
        Returns the merged report and the keys that really went through the runner (None = all).
        """
        if focus is None:
            return self.project.run_plan(plan), None
        chosen: list[PlannedCheck] = []
        carried: dict[CheckKey, CheckOutcome] = {}
        for planned, key in zip(_runnable(plan), self._keys, strict=True):
            previous = self._previous.get(key)
            library = planned.library
            if (key in focus or previous is None or previous.status is Status.ERROR or library is None
                    or library.purity() is Purity.IMPURE):
                chosen.append(planned)
            else:
                carried[key] = _replayed(previous)
        partial = self.project.run_plan(Plan(chosen, plan.diagnostics, plan.scopes, plan.scope_inputs))
        fresh = {check_key(p): o for p, o in zip(chosen, partial.outcomes, strict=True)}
        report = RunReport(diagnostics=list(plan.diagnostics), duration_ms=partial.duration_ms)
        report.totals.skipped = len(plan.checks) - len(self._keys)
        for key in self._keys:
            outcome = fresh.get(key) or carried[key]
            report.outcomes.append(outcome)
            report.totals.add(outcome)
        return report, set(fresh)

    def _reload_project(self, cycle: CycleReport, first: bool) -> None:
        candidate = self.project if first else self._factory()
        try:
            config = candidate.load_config()
        except ConfigError as exc:
            self.config_broken = True
            cycle.diagnostics.extend(exc.diagnostics)
            cycle.kept_previous = self._config_ok
            if candidate is not self.project:
                candidate.close()
            return
        if candidate is not self.project:
            self.project.close()
            self.project = candidate
        self._config_ok = True
        self.config_broken = False
        cycle.diagnostics.extend(candidate.config_warnings)
        self.control = {p: k for p, k in self.control.items() if k == Control.SPEC}
        self.control[os.path.join(self.workspace, CONFIG_NAME)] = Control.PROJECT
        for entry in config.libraries:
            if isinstance(entry, WasmLibraryConfig):
                self.control[entry.path] = Control.PROJECT
            elif isinstance(entry, ExternalLibraryConfig) and os.path.isabs(entry.executable):
                self.control[entry.executable] = Control.PROJECT

    def _reload_spec(self, cycle: CycleReport) -> None:
        try:
            spec = self.project.load_spec()
        except SpecReadError as exc:
            self.spec_broken = True
            cycle.error = f"cannot read {exc.path}: {exc.reason}"
            cycle.kept_previous = self.spec is not None
            return
        cycle.sources.update(spec.sources)
        if any(d.is_error for d in spec.diagnostics):
            self.spec_broken = True
            cycle.diagnostics.extend(spec.diagnostics)
            cycle.kept_previous = self.spec is not None
            # Also watch the files of the broken spec: fixing any of them must trigger the next cycle.
            self._add_spec_files(spec)
            return
        cycle.diagnostics.extend(spec.diagnostics)
        self.spec_broken = False
        self.control = {p: k for p, k in self.control.items() if k != Control.SPEC}
        self.spec = spec
        self._add_spec_files(spec)

    def _add_spec_files(self, spec: SpecSet) -> None:
        for file in spec.sources:
            self.control.setdefault(os.path.abspath(file), Control.SPEC)

    # ------------------------------------------------------------------ what each check read

    def reader(self) -> ResultStore | None:
        """A read connection to the result store; None when there is no usable store."""
        if self._reader is None and self.project.options.use_store:
            self._reader, _warnings = ResultStore.try_open(self.project.result_cache_dir())
        return self._reader

    def _update_recorded(self, plan: Plan, report: RunReport, ran: set[CheckKey] | None, walked: bool = True
                         ) -> None:
        """Refresh each check's own reads, as recorded with its verdict in the store, for the checks that
        went through the runner (`ran`; None = all); carried-over checks keep what they had.

        Only verdicts this cycle replayed or recorded are trusted: an Error is never recorded (so the stored
        row, if any, is older) and an impure library's verdicts are never recorded at all.
        """
        store = self.reader()
        if not walked and ran is not None:
            # The same plan: only what ran can have new recorded reads.
            current = {key: (self._runnable[self._positions[key]], report.outcomes[self._positions[key]])
                       for key in ran}
            recorded = dict(self._recorded)
            for key, (planned, outcome) in current.items():
                recorded.pop(key, None)
                self._record_reads(recorded, store, key, planned, outcome, self.workspace)
            self._recorded = recorded
            return
        current = {check_key(p): (p, o) for p, o in zip(_runnable(plan), report.outcomes, strict=True)}
        recorded = {k: v for k, v in self._recorded.items() if k in current and (ran is None or k not in ran)}
        for key, (planned, outcome) in current.items():
            if ran is None or key in ran:
                self._record_reads(recorded, store, key, planned, outcome, self.workspace)
        self._recorded = recorded

    @staticmethod
    def _record_reads(recorded: dict[CheckKey, CheckInputs], store: ResultStore | None, key: CheckKey,
                      planned: PlannedCheck, outcome: CheckOutcome, workspace: str) -> None:
        if store is None:
            return
        library = planned.library
        if library is None or library.purity() is Purity.IMPURE or outcome.status is Status.ERROR:
            return
        stored = store.get_verdict(key.storage_key())
        if stored is not None:
            # The store keeps paths relative to the workspace (fingerprints survive moving it); the index and
            # the file events speak absolute paths. Left relative, every recorded read would look like an
            # input outside the workspace: never matched by an event, and stat-ed on every daemon request.
            recorded[key] = CheckInputs(
                files=frozenset(absolute(workspace, p) for p in stored.deps),
                trees=frozenset(TreeDep(absolute(workspace, root), tuple(sfx), tuple(exc))
                                for root, sfx, exc, _d in stored.trees),
            )

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.project.close()
