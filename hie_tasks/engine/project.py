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
from hie_tasks.engine.interpreter import Interpreter, Plan, SelectorCall, direct_selector_call
from hie_tasks.engine.libload import load_failures, shorten_load_diagnostics, shorten_load_error
from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.engine.runner import (
    ProgressCallback,
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
        """Raises SpecReadError when the entry spec cannot be read."""
        names = self.library_names()
        with collector_paused():
            return load_spec(self.spec_path, names)

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
        selector_call = cached_selector_call(self.session()) if self.options.use_store else direct_selector_call
        return self.plan_with(spec, selector_call)

    def plan_with(self, spec: SpecSet, selector_call: SelectorCall) -> Plan:
        """`plan` with another way of answering selectors (watch keeps its own memo): the same libraries,
        the same plan-time diagnostics (load failures, missing grants, empty scopes) either way."""
        self.registry().begin_run()
        self._planned = True
        # Load only the plugins this spec imports, overlapping planning; the others are never compiled.
        imported = {i.path[0] for p in spec.programs for i in p.imports if not i.is_string}
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

    def late_warnings(self) -> list[str]:
        """Warnings that arise while checks run (rejected cache entries, a store that failed mid-run, the
        cache key), each returned once; the caller prints them after the results."""
        import hie_tasks.secret as secret

        out = secret.take_warnings()
        if self._module_cache is not None:
            out += self._module_cache.take_warnings()
        if self._store is not None:
            out += self._store.take_warnings()
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
