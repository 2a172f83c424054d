"""`plugins inspect FILE.wasm`: what a module declares and whether it satisfies ABI 1."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from hie_tasks.config import WasmLibraryConfig
from hie_tasks.libraries.wasm import abi
from hie_tasks.libraries.wasm.component import ComponentLibrary, sniff_component
from hie_tasks.libraries.wasm.engine import WasmEngine, shared_engine
from hie_tasks.libraries.wasm.library import WasmLibrary, compile_module, read_wasm
from hie_tasks.libraries.wasm.modcache import ModuleCache
from hie_tasks.model.errors import LibraryError


@dataclass
class InspectReport:
    path: str
    readable: bool
    exports: list[tuple[str, str]] = field(default_factory=list)
    imports: list[tuple[str, str, str]] = field(default_factory=list)
    abi_version: int | None = None
    metadata: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.readable and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "readable": self.readable,
            "satisfies_abi": self.ok,
            "exports": [{"name": n, "type": t} for n, t in self.exports],
            "imports": [{"module": m, "name": n, "type": t} for m, n, t in self.imports],
            "abi_version": self.abi_version,
            "metadata": self.metadata,
            "problems": self.problems,
        }


def inspect_wasm(path: str, engine: WasmEngine | None = None, cache: ModuleCache | None = None) -> InspectReport:
    """Inspect without granting any capability (metadata comes from an instance with fs none, no env)."""
    path = os.path.abspath(path)
    report = InspectReport(path=path, readable=False)
    label = f"WASM module {path}"
    if sniff_component(path):
        return _inspect_component(path, report, cache)
    engine = engine or shared_engine()
    try:
        data = read_wasm(path, label)
        module = compile_module(engine, cache or ModuleCache(), data, path, label).module
    except LibraryError as exc:
        report.problems.append(exc.message)
        return report
    report.readable = True
    shape = abi.analyze(module)
    report.exports = list(shape.exports)
    report.imports = list(shape.imports)
    report.problems.extend(shape.problems)
    if shape.problems:
        return report
    lib = WasmLibrary(WasmLibraryConfig(name=os.path.basename(path), path=path), os.path.dirname(path), cache, engine)
    try:
        lib.load()
        report.abi_version = abi.ABI_VERSION if shape.has_abi_version else None
        report.metadata = lib.metadata()
    except LibraryError as exc:
        report.problems.append(exc.message)
    return report


def _inspect_component(path: str, report: InspectReport, cache: ModuleCache | None) -> InspectReport:
    """The same report for a component: its world-level exports and imports, abi-version, describe()."""
    config = WasmLibraryConfig(name=os.path.basename(path), path=path, component=True)
    lib = ComponentLibrary(config, os.path.dirname(path), cache or ModuleCache(), prefetch=False)
    try:
        lib.load()
    except LibraryError as exc:
        report.readable = exc.code not in ("E600", "E601")
        report.problems.append(exc.message)
        return report
    report.readable = True
    report.exports, imports = lib.interface()
    report.imports = [(*_split(name), "instance") for name in imports]
    report.abi_version = 1
    report.metadata = lib.metadata()
    return report


def _split(name: str) -> tuple[str, str]:
    """`wasi:io/poll@0.2.9` → ("wasi:io", "poll@0.2.9"): package and interface, like a module's import pair."""
    package, _, interface = name.partition("/")
    return package, interface
