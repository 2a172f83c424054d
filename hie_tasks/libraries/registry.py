"""The libraries of one run: built-ins plus whatever `hielements.toml` configures, by name.

A configured library whose name is a built-in's replaces it, as upstream's registry does (the config
loader has already warned). The registry owns the libraries' resources: closing it stops external
processes.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from hie_tasks.config import ExternalLibraryConfig, WasmLibraryConfig, WorkspaceConfig
from hie_tasks.libraries.base import Library

if TYPE_CHECKING:
    from hie_tasks.libraries.wasm.modcache import ModuleCache


class Registry:
    def __init__(self, libraries: list[Library] | None = None) -> None:
        self._libraries: dict[str, Library] = {}
        for library in libraries or []:
            self.add(library)

    def add(self, library: Library) -> None:
        self._libraries[library.name] = library

    def get(self, name: str) -> Library | None:
        return self._libraries.get(name)

    def names(self) -> set[str]:
        return set(self._libraries)

    def libraries(self) -> list[Library]:
        return [self._libraries[name] for name in sorted(self._libraries)]

    def begin_run(self) -> None:
        for library in self._libraries.values():
            library.begin_run()

    def prefetch(self, names: set[str]) -> None:
        """Start loading the named libraries in the background (those that can: WASM plugins)."""
        for name in sorted(names):
            library = self._libraries.get(name)
            start = getattr(library, "prefetch", None)
            if callable(start):
                start()

    def close(self) -> None:
        for library in self._libraries.values():
            library.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def builtin_names() -> set[str]:
    return {"files", "python", "rust"}


def build_registry(
    workspace: str, config: WorkspaceConfig, *, module_cache: ModuleCache | None = None,
    protected: tuple[str, ...] = (), workspace_text: str | None = None,
) -> Registry:
    """`protected`: paths no plugin may be granted write access to (the result store), beyond the ones
    known here (hielements.toml, every configured .wasm, the module cache). `workspace_text`: the workspace
    as the user named it (see `default_workspace_text`)."""
    # Imported here so that commands which never run a check (parse, validate) do not pay for wasmtime.
    from hie_tasks.libraries.builtin import builtin_libraries

    registry = Registry(builtin_libraries(workspace_text))
    guarded = (*protected, *(e.path for e in config.libraries if isinstance(e, WasmLibraryConfig)))
    if config.file is not None:
        guarded += (config.file,)
    if module_cache is not None:
        guarded += (module_cache.root,)
    for entry in config.libraries:
        if isinstance(entry, WasmLibraryConfig):
            from hie_tasks.libraries.wasm.component import make_wasm_library

            # Not prefetched here: the caller prefetches what its plan imports (Registry.prefetch).
            registry.add(make_wasm_library(entry, workspace, module_cache, protected=guarded))
        elif isinstance(entry, ExternalLibraryConfig):
            from hie_tasks.libraries.external import ExternalLibrary

            registry.add(ExternalLibrary(entry, workspace))
    return registry
