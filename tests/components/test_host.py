"""Loading components: header detection, `type = "component"`, world checks, the module cache, progress.

Small components are written in WAT (milliseconds to compile); the Python ones come from conftest."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import wasmtime

from hie_tasks.config import Capabilities, WasmLibraryConfig, load_config
from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.wasm.component import (
    CompileProgress,
    ComponentLibrary,
    is_component,
    make_wasm_library,
)
from hie_tasks.libraries.wasm.library import WasmLibrary
from hie_tasks.libraries.wasm.modcache import ModuleCache
from hie_tasks.model.errors import LibraryError
from tests.cli.conftest import run_cli
from tests.components.conftest import MakeComponent, needs_componentize

#: Every export the world needs, typed wrongly: each returns a number.
WRONG_TYPES = """
(component
  (core module $m
    (func (export "v") (result i32) i32.const 1)
    (func (export "n") (result i32) i32.const 7))
  (core instance $i (instantiate $m))
  (func $v (result u32) (canon lift (core func $i "v")))
  (func $n (result u32) (canon lift (core func $i "n")))
  (export "abi-version" (func $v))
  (export "describe" (func $n))
  (export "call" (func $n))
  (export "check" (func $n)))
"""

ONLY_VERSION = """
(component
  (core module $m (func (export "v") (result i32) i32.const 1))
  (core instance $i (instantiate $m))
  (func $v (result u32) (canon lift (core func $i "v")))
  (export "abi-version" (func $v)))
"""

FOREIGN_IMPORT = """
(component
  (import "evil:net/connect" (func $c))
  (core module $m (func (export "v") (result i32) i32.const 1))
  (core instance $i (instantiate $m))
  (func $v (result u32) (canon lift (core func $i "v")))
  (export "abi-version" (func $v)))
"""

VERSION_TWO = WRONG_TYPES.replace("i32.const 1", "i32.const 2")


def _wat(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def _lib(path: Path, tmp_path: Path, component: bool = False) -> ComponentLibrary:
    config = WasmLibraryConfig("w", str(path), Capabilities(), component=component)
    return ComponentLibrary(config, str(tmp_path), ModuleCache(str(tmp_path / "mc")), prefetch=False,
                            progress=io.StringIO())  # fmt: skip


def test_header_decides_component_or_module(tmp_path: Path) -> None:
    component = _wat(tmp_path, "c", ONLY_VERSION)
    module = tmp_path / "m.wasm"
    module.write_bytes(wasmtime.wat2wasm("(module)"))
    assert is_component(component.read_bytes()[:8]) and not is_component(module.read_bytes()[:8])
    cache = ModuleCache(str(tmp_path / "mc"))
    made = make_wasm_library(WasmLibraryConfig("c", str(component)), str(tmp_path), cache)
    assert isinstance(made, ComponentLibrary)
    made.close()
    plain = make_wasm_library(WasmLibraryConfig("m", str(module)), str(tmp_path), cache)
    assert isinstance(plain, WasmLibrary)
    plain.close()


def test_declared_component_that_is_a_core_module(tmp_path: Path) -> None:
    module = tmp_path / "m.wasm"
    module.write_bytes(wasmtime.wat2wasm("(module)"))
    with pytest.raises(LibraryError) as info:
        _lib(module, tmp_path, component=True).load()
    assert info.value.code == "E618" and 'type = "component"' in info.value.message
    assert "a core WebAssembly module" in info.value.message


def test_type_component_in_hielements_toml(tmp_path: Path) -> None:
    (tmp_path / "p.wasm").write_bytes(wasmtime.wat2wasm(ONLY_VERSION))
    (tmp_path / "hielements.toml").write_text('[libraries.p]\ntype = "component"\npath = "p.wasm"\n')
    config, _warnings = load_config(str(tmp_path))
    entry = config.libraries[0]
    assert isinstance(entry, WasmLibraryConfig) and entry.component
    (tmp_path / "hielements.toml").write_text('[libraries.p]\ntype = "componnet"\npath = "p.wasm"\n')
    r = run_cli("check", "-w", str(tmp_path), str(tmp_path / "x.hie"))
    assert r.code == 2 and '"external", "wasm" or "component"' in r.out + r.err


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        (ONLY_VERSION, "E603", "does not export `describe`"),
        (FOREIGN_IMPORT, "E602", "imports evil:net/connect"),
        (VERSION_TWO, "E604", "abi-version() returned 2; this host supports 1"),
    ],
)
def test_components_outside_the_world_are_load_errors(
    tmp_path: Path, text: str, code: str, words: str
) -> None:
    with pytest.raises(LibraryError) as info:
        _lib(_wat(tmp_path, "bad", text), tmp_path).load()
    assert info.value.code == code and words in info.value.message
    assert "WASM component 'w'" in info.value.message


def test_wrongly_typed_exports_give_error_verdicts(tmp_path: Path) -> None:
    lib = _lib(_wat(tmp_path, "typed", WRONG_TYPES), tmp_path)
    lib.load()  # names and abi-version are right
    for use in (lib.check, lib.call):
        with pytest.raises(LibraryError) as info:
            use("anything", [], CallContext(str(tmp_path)))
        assert info.value.code == "E603" and "does not have the hielements:plugin type" in info.value.message


def test_truncated_component_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.wasm"
    path.write_bytes(wasmtime.wat2wasm(WRONG_TYPES)[:40])
    with pytest.raises(LibraryError) as info:
        _lib(path, tmp_path).load()
    assert info.value.code == "E601" and "not a valid WebAssembly component" in info.value.message


def test_first_compile_is_announced_then_cached(tmp_path: Path) -> None:
    path = _wat(tmp_path, "typed", WRONG_TYPES)
    shown = io.StringIO()
    cache = ModuleCache(str(tmp_path / "mc"))
    first = ComponentLibrary(WasmLibraryConfig("w", str(path)), str(tmp_path), cache, prefetch=False, progress=shown)
    assert "compiled in" in first.load_note()
    assert "compiling WASM component 'w'" in shown.getvalue() and "compiled in" in shown.getvalue()
    assert [e.source_path for e in cache.info()] == [str(path)]
    again = io.StringIO()
    second = ComponentLibrary(
        WasmLibraryConfig("w", str(path)), str(tmp_path), ModuleCache(str(tmp_path / "mc")), prefetch=False,
        progress=again,
    )  # fmt: skip
    assert "loaded from cache" in second.load_note() and again.getvalue() == ""


def test_progress_on_a_terminal_rewrites_one_line() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    assert CompileProgress("X", 3 * 1024 * 1024, out).run(lambda: 42) == 42
    text = out.getvalue()
    assert text.startswith("compiling X (3.0 MiB; first use, cached afterwards)") and "\r" in text
    assert text.endswith("compiled in 0.0 s\n")


@needs_componentize
def test_identity_and_purity_follow_bytes_and_capabilities(
    make_component: MakeComponent, probe_wasm: Path
) -> None:
    from hie_tasks.config import FsAccess
    from hie_tasks.libraries.base import Purity

    pure, reads = make_component(probe_wasm), make_component(probe_wasm, Capabilities(fs=FsAccess.READ))
    assert pure.purity() is Purity.PURE and reads.purity() is Purity.READS_WORKSPACE
    assert pure.identity() != reads.identity() and pure.identity().startswith("component:")
    meta = pure.metadata()
    assert meta == {
        "name": "probe", "version": "0.0.1",
        "functions": ["read", "list", "write", "env", "socket", "badjson"],
        "checks": ["ok", "print", "loop", "bomb", "raise", "shape", "exit", "global"],
    }
    assert json.dumps(pure.documentation().to_json())


@needs_componentize
def test_inspect_a_component(probe_wasm: Path) -> None:
    r = run_cli("plugins", "inspect", str(probe_wasm), "--format", "json")
    assert r.code == 0, r.out + r.err
    report = json.loads(r.out)
    assert report["satisfies_abi"] and report["abi_version"] == 1
    assert {e["name"] for e in report["exports"]} >= {"abi-version", "describe", "call", "check"}
    assert {"module": "wasi:filesystem", "name": "preopens@0.2.9", "type": "instance"} in report["imports"]
    assert report["metadata"]["name"] == "probe"
