"""One spec against one workspace, end to end: config → libraries → spec → plan → run.

The CLI commands, watch mode and the nox helper all drive runs through `Project`, so they resolve the
workspace, the caches and the libraries the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hie_tasks.config import ConfigError, WasmLibraryConfig, WorkspaceConfig, load_config
from hie_tasks.diagnostics import Diagnostic
from hie_tasks.engine.checksites import empty_scope_warnings
from hie_tasks.engine.grants import annotate_denied_diagnostics, annotate_denied_read, no_file_access_hints
from hie_tasks.engine.interpreter import Interpreter, SelectorCall, direct_selector_call
from hie_tasks.engine.libload import load_failures, shorten_load_diagnostics, shorten_load_error
from hie_tasks.engine.planned import Plan
from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.engine.runner import (
    Runner,
    RunOptions,
    cached_selector_call,
    collector_paused,
)
from hie_tasks.incremental.session import IncrementalSession
from hie_tasks.incremental.store import ResultStore
from hie_tasks.lang.loader import SpecSet, load_spec
from hie_tasks.libraries.registry import Registry, build_registry, builtin_names

if TYPE_CHECKING:
    from hie_tasks.engine.cachedplan import PlanCache
    from hie_tasks.engine.cachedspec import SpecCache
    from hie_tasks.engine.runner import ProgressCallback
    from hie_tasks.incremental.plancache import Vouched
    from hie_tasks.libraries.wasm.modcache import ModuleCache

#: Environment overrides for CI, next to the `--cache-dir` / `--module-cache` flags.
RESULT_CACHE_ENV = "HIE_TASKS_CACHE_DIR"
DEFAULT_RESULT_CACHE = ".hie-cache"

__all__ = ["ConfigError", "Project", "ProjectOptions", "default_workspace", "default_workspace_text"]


def default_workspace(spec_path: str, workspace: str | None) -> str:
    """Upstream's rule for `run`: `-w`, else the spec file's directory (a directory spec is its own)."""
    if workspace:
        return os.path.abspath(workspace)
    if os.path.isdir(spec_path):
        return os.path.abspath(spec_path)
    return os.path.abspath(os.path.dirname(spec_path) or ".")


def default_workspace_text(spec_path: str, workspace: str | None) -> str:
    """The workspace as upstream spells it when it prints file paths: `-w` exactly as given, else the spec's
    directory as given (`.` for a bare file name). `./src/a.py` and `/repo/src/a.py` name the same file, but
    a message is text that users and their scripts compare, so it keeps their words."""
    if workspace:
        return workspace
    if os.path.isdir(spec_path):
        return spec_path
    return os.path.dirname(spec_path) or "."


@dataclass
class ProjectOptions:
    workspace: str | None = None
    #: result store directory; None = $HIE_TASKS_CACHE_DIR or <workspace>/.hie-cache
    cache_dir: str | None = None
    #: compiled-module cache directory; None = $HIE_TASKS_MODULE_CACHE or the user cache dir
    module_cache_dir: str | None = None
    use_store: bool = True
    refresh: bool = False
    element_filter: str | None = None
    run: RunOptions = field(default_factory=RunOptions)


def ignore_in_git(directory: str) -> None:
    """A `.gitignore` of `*` inside the store directory, as pytest's, ruff's and mypy's caches have: the store
    never shows up in `git status`, and pre-commit never reports "files were modified" because of it."""
    path = os.path.join(directory, ".gitignore")
    if os.path.exists(path):
        return
    try:
        with open(path, "x", encoding="utf-8") as fh:
            fh.write("# Created by hie-tasks automatically.\n*\n")
    except OSError:
        pass  # another run wrote it first, or the directory is read-only: the store works without it


class Project:
    def __init__(self, spec_path: str, options: ProjectOptions | None = None) -> None:
        self.spec_path = spec_path
        self.options = options or ProjectOptions()
        self.workspace = default_workspace(spec_path, self.options.workspace)
        self.workspace_text = default_workspace_text(spec_path, self.options.workspace)
        self.config: WorkspaceConfig | None = None
        self.config_warnings: list[Diagnostic] = []
        self._registry: Registry | None = None
        self._session: IncrementalSession | None = None
        # Whether a plan was made since libraries last started a run (see `Library.begin_run`).
        self._planned = False
        self.store_warnings: list[str] = []
        self._module_cache: ModuleCache | None = None
        self._store: ResultStore | None = None
        self._warned = 0
        #: WASM libraries that failed to load during `plan`: name → load error (reported once, as a diagnostic)
        self._load_failures: dict[str, str] = {}
        self._plan_cache: PlanCache | None = None
        self._spec_cache: SpecCache | None = None
        #: the spec `load_spec` gave, to store once planned: (key, spec, its own diagnostics, derived keys
        #: when it came from the cache)
        self._spec_to_save: tuple[str, SpecSet, list[Diagnostic], set[str] | None] | None = None
        #: why the spec was not kept for the next run (None: kept, reused, or no store)
        self.spec_not_cached: str | None = None
        #: why the last plan made by `plan` was not kept for the next run (None: kept, or reused)
        self.plan_not_cached: str | None = None
        #: whether the last `plan` came from the plan cache
        self.plan_reused = False

    # ------------------------------------------------------------------ pieces

    def load_config(self) -> WorkspaceConfig:
        """Raises ConfigError with every problem in hielements.toml."""
        if self.config is None:
            self.config, self.config_warnings = load_config(self.workspace)
        return self.config

    def library_names(self) -> set[str]:
        config = self.load_config()
        return builtin_names() | {entry.name for entry in config.libraries}

    def load_spec(self) -> SpecSet:
        """Raises SpecReadError when the entry spec cannot be read. With a store, the previous run's spec
        while none of its files changed, parsed only if its syntax trees are asked for (engine/cachedspec.py)."""
        names = self.library_names()
        if self.options.use_store:
            from hie_tasks.engine.cachedspec import SpecCache

            cache = SpecCache(self.result_cache_dir())
            key = cache.key(self.spec_path, names)
            self._spec_cache = cache
            if not self.options.refresh:
                cached = cache.load(key, self.spec_path, names)
                if cached is not None:
                    self._spec_to_save = (key, cached, list(cached.diagnostics), set(cached.derived))
                    return cached
        with collector_paused():
            spec = load_spec(self.spec_path, names)
        if self.options.use_store:
            self._spec_to_save = (key, spec, list(spec.diagnostics), None)
        return spec

    def _save_spec(self, spec: SpecSet) -> None:
        """Keep the spec for the next run (once its derived findings are in), unless it came from the cache
        unchanged."""
        pending, self._spec_to_save = self._spec_to_save, None
        if pending is None or self._spec_cache is None or pending[1] is not spec:
            return
        key, _spec, diagnostics, derived = pending
        if derived is not None and set(spec.derived) == derived:
            return
        self.spec_not_cached = self._spec_cache.save(key, spec, diagnostics)

    def registry(self) -> Registry:
        if self._registry is None:
            config = self.load_config()
            module_cache = None
            # The module cache (and with it wasmtime, ~50 ms of start-up) only when a WASM plugin is configured.
            if any(isinstance(entry, WasmLibraryConfig) for entry in config.libraries):
                from hie_tasks.libraries.wasm.modcache import ModuleCache

                module_cache = ModuleCache(self.options.module_cache_dir)
            self._module_cache = module_cache
            self._registry = build_registry(
                self.workspace, config, module_cache=module_cache, protected=(self.result_cache_dir(),),
                workspace_text=self.workspace_text,
            )
        return self._registry

    def result_cache_dir(self) -> str:
        chosen = self.options.cache_dir or os.environ.get(RESULT_CACHE_ENV)
        return os.path.abspath(chosen) if chosen else os.path.join(self.workspace, DEFAULT_RESULT_CACHE)

    def session(self) -> IncrementalSession:
        if self._session is None:
            store: ResultStore | None = None
            if self.options.use_store:
                # A store that cannot be opened (read-only dir, ...) means a run without replay, not a failure.
                store, warnings = ResultStore.try_open(self.result_cache_dir())
                self.store_warnings.extend(warnings)
                self._store = store
                if store is not None:
                    ignore_in_git(self.result_cache_dir())
            self._session = IncrementalSession(store, refresh=self.options.refresh, enabled=self.options.use_store)
            self._warned = len(self._session.warnings)  # the store's own warnings are in store_warnings
        return self._session

    # ------------------------------------------------------------------ the pipeline

    def plan(self, spec: SpecSet) -> Plan:
        """The spec's plan: the previous run's when nothing it was made from changed (engine/cachedplan.py),
        else a new one (then kept for the next run)."""
        if not self.options.use_store:
            return self.plan_with(spec, direct_selector_call)
        import time

        from hie_tasks.engine.cachedplan import PlanCache

        self.plan_reused = False
        session = self.session()
        if not session.enabled:
            return self.plan_with(spec, cached_selector_call(session))
        # What the last run of a long-lived project saw may have changed since: validate against the disk.
        session.digester.begin_run()
        started = time.time_ns()
        cache = PlanCache(self.result_cache_dir(), session.digester, self.workspace)
        self._plan_cache = cache
        key = cache.key(spec, self.registry(), self.load_config().file, self.options.element_filter)
        if not self.options.refresh:
            with collector_paused():  # the loaded plan is long-lived, as a planned one is
                plan = cache.load(key, self.registry())
            if plan is not None and self._reuse(spec, plan):
                self.plan_reused = True
                self._save_spec(spec)
                return plan
        recorder = cache.recording(cached_selector_call(session), started)
        plan = self.plan_with(spec, recorder)
        self.plan_not_cached = cache.save(key, plan, recorder, self.registry(), bool(self._load_failures))
        self._save_spec(spec)
        return plan

    def _reuse(self, spec: SpecSet, plan: Plan) -> bool:
        """What `plan_with` does besides planning, for a plan from the cache: start the run and load the
        plugins the spec imports. A plugin that now fails to load means planning afresh, so the failure is
        reported as planning reports it."""
        self.registry().begin_run()
        self._planned = True
        imported = spec.library_imports()
        self.registry().prefetch(imported)
        _diags, failed = load_failures(self.registry(), self.load_config(), imported)
        if failed:
            return False
        self._load_failures = {}
        self.plan_not_cached = None
        return True

    def plan_with(self, spec: SpecSet, selector_call: SelectorCall) -> Plan:
        """`plan` with another way of answering selectors (watch keeps its own memo): the same libraries,
        the same plan-time diagnostics (load failures, missing grants, empty scopes) either way."""
        self.registry().begin_run()
        self._planned = True
        # Load only the plugins this spec imports, overlapping planning; the others are never compiled.
        imported = spec.library_imports()
        self.registry().prefetch(imported)
        interpreter = Interpreter(
            self.registry(), self.workspace, element_filter=self.options.element_filter, selector_call=selector_call
        )
        load_diags, self._load_failures = load_failures(self.registry(), self.load_config(), imported)
        with collector_paused():
            plan = interpreter.plan(spec.programs)
        plan.diagnostics[:] = [*load_diags, *shorten_load_diagnostics(plan.diagnostics, self._load_failures)]
        hints = no_file_access_hints(self.load_config())
        plan.diagnostics[:] = annotate_denied_diagnostics(plan.diagnostics, spec.sources, hints)
        # Warn about empty scopes before anything runs: a check over no files passes or fails vacuously.
        plan.diagnostics.extend(empty_scope_warnings(
            spec.programs, [(c.element, c.index, c.args) for c in plan.checks if not c.skipped and c.error is None],
            hints,
        ))
        return plan

    def run_plan(self, plan: Plan, progress: ProgressCallback | None = None) -> RunReport:
        # A plan made just now shares its run with these checks; a plan kept from earlier (watch) does not.
        if not self._planned:
            self.registry().begin_run()
        self._planned = False
        runner = Runner(self.workspace, self.session() if self.options.use_store else None)
        hints = no_file_access_hints(self.load_config())
        failed = self._load_failures
        if hints or failed:
            inner = progress

            def progress(outcome: CheckOutcome, done: int, total: int) -> None:
                # before anyone prints it
                shorten_load_error(outcome, failed)
                annotate_denied_read(outcome, hints)
                if inner is not None:
                    inner(outcome, done, total)

        return runner.run(plan, self.options.run, progress)

    def vouched_inputs(self) -> list[Vouched] | None:
        """What the spec and plan of the last `plan` were kept (or found valid) by, when both were; else None."""
        if self._spec_cache is None or self._plan_cache is None or self.spec_not_cached or self.plan_not_cached:
            return None
        spec, plan = list(self._spec_cache.store.vouched.values()), list(self._plan_cache.store.vouched.values())
        return [*spec, *plan] if spec and plan else None

    def late_warnings(self) -> list[str]:
        """Warnings that arise while checks run (rejected cache entries, a store that failed mid-run, the
        cache key), each returned once; the caller prints them after the results."""
        import hie_tasks.secret as secret

        out = secret.take_warnings()
        if self._module_cache is not None:
            out += self._module_cache.take_warnings()
        if self._store is not None:
            out += self._store.take_warnings()
        if self._plan_cache is not None:
            out += self._plan_cache.store.take_warnings()
        if self._spec_cache is not None:
            out += self._spec_cache.store.take_warnings()
        if self._session is not None:
            out += self._session.warnings[self._warned:]
            self._warned = len(self._session.warnings)
        return out

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()
            self._registry = None
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
