"""One spec against one workspace, end to end: config → libraries → spec → plan → run.

The CLI commands, watch mode and the nox helper all drive runs through `Project`, so they resolve the
workspace, the caches and the libraries the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hie_tasks.config import ConfigError, WasmLibraryConfig, WorkspaceConfig, load_config
from hie_tasks.diagnostics import Diagnostic
from hie_tasks.engine.interpreter import Interpreter, Plan, direct_selector_call
from hie_tasks.engine.results import RunReport
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

#: Environment overrides for CI, next to the `--cache-dir` / `--module-cache` flags.
RESULT_CACHE_ENV = "HIE_TASKS_CACHE_DIR"
DEFAULT_RESULT_CACHE = ".hie-cache"

__all__ = ["ConfigError", "Project", "ProjectOptions", "default_workspace"]


def default_workspace(spec_path: str, workspace: str | None) -> str:
    """Upstream's rule for `run`: `-w`, else the spec file's directory (a directory spec is its own)."""
    if workspace:
        return os.path.abspath(workspace)
    if os.path.isdir(spec_path):
        return os.path.abspath(spec_path)
    return os.path.abspath(os.path.dirname(spec_path) or ".")


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


class Project:
    def __init__(self, spec_path: str, options: ProjectOptions | None = None) -> None:
        self.spec_path = spec_path
        self.options = options or ProjectOptions()
        self.workspace = default_workspace(spec_path, self.options.workspace)
        self.config: WorkspaceConfig | None = None
        self.config_warnings: list[Diagnostic] = []
        self._registry: Registry | None = None
        self._session: IncrementalSession | None = None
        self.store_warnings: list[str] = []

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
            self._registry = build_registry(self.workspace, config, module_cache=module_cache)
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
            self._session = IncrementalSession(store, refresh=self.options.refresh, enabled=self.options.use_store)
        return self._session

    # ------------------------------------------------------------------ the pipeline

    def plan(self, spec: SpecSet) -> Plan:
        selector_call = cached_selector_call(self.session()) if self.options.use_store else direct_selector_call
        interpreter = Interpreter(
            self.registry(), self.workspace, element_filter=self.options.element_filter, selector_call=selector_call
        )
        with collector_paused():
            return interpreter.plan(spec.programs)

    def run_plan(self, plan: Plan, progress: ProgressCallback | None = None) -> RunReport:
        runner = Runner(self.workspace, self.session() if self.options.use_store else None)
        return runner.run(plan, self.options.run, progress)

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
