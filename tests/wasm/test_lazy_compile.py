"""Start-up work is bounded: unused modules are never compiled, large ones compile within limits."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import wasmtime
import wat_plugins as W

from hie_tasks.config import WasmLibraryConfig
from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.wasm.compiler import IN_PROCESS_BYTES
from hie_tasks.libraries.wasm.engine import shared_engine
from hie_tasks.libraries.wasm.library import WasmLibrary
from hie_tasks.libraries.wasm.modcache import ModuleCache
from hie_tasks.model.errors import LibraryError

ROOT = Path(__file__).resolve().parents[2]


def _many_functions(n: int) -> str:
    funcs = "\n".join(
        f'(func (export "f{i}") (param i32) (result i32) (i32.mul (local.get 0) (i32.const {i})))' for i in range(n)
    )
    return f"""(module (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) (i32.const 0))
      (func (export "library_check") (param i32 i32) (result i64) (i64.const 0)) {funcs})"""


@pytest.fixture(scope="session")
def huge_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "huge.wasm"
    path.write_bytes(wasmtime.wat2wasm(_many_functions(20_000)))
    assert path.stat().st_size > IN_PROCESS_BYTES
    return path


def test_unused_module_in_config_is_never_compiled(tmp_path: Path, huge_wasm: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "plugins").mkdir(parents=True)
    (ws / "plugins" / "huge.wasm").write_bytes(huge_wasm.read_bytes())
    (ws / "README.md").write_text("hi\n")
    (ws / "hielements.toml").write_text('[libraries.huge]\npath = "plugins/huge.wasm"\n')
    (ws / "spec.hie").write_text(
        "element docs:\n    scope f = files.file_selector('README.md')\n    check files.exists(f, 'README.md')\n"
    )
    modules = tmp_path / "modules"
    proc = subprocess.run(
        [sys.executable, "-m", "hie_tasks", "run", str(ws / "spec.hie"), "-w", str(ws), "--module-cache",
         str(modules), "--cache-dir", str(tmp_path / "store"), "-f", "json", "-v"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["passed"] == 1
    # No compilation happened: the module cache holds no entry (and no half-written one).
    assert ModuleCache(str(modules)).info() == []
    assert not modules.exists() or os.listdir(modules) == []
    assert "huge" not in proc.stderr


def test_compilation_is_bounded_in_time_with_a_clean_error(tmp_path: Path, huge_wasm: Path) -> None:
    config = WasmLibraryConfig("huge", str(huge_wasm), compile_timeout_ms=50)
    lib = WasmLibrary(config, str(tmp_path), ModuleCache(str(tmp_path / "c")), prefetch=False)
    with pytest.raises(LibraryError) as info:
        lib.check("f0", [], CallContext(str(tmp_path)))
    assert info.value.code == "E607" and str(huge_wasm) in info.value.message
    assert "compile_timeout_ms" in info.value.message
    assert ModuleCache(str(tmp_path / "c")).info() == []


def test_compilation_is_bounded_in_memory(tmp_path: Path, huge_wasm: Path) -> None:
    # Enough for the child to start (≈ 40 MB), not for compiling 20,000 functions (≈ 300 MB).
    config = WasmLibraryConfig("huge", str(huge_wasm), max_compile_memory_mb=80, compile_timeout_ms=30_000)
    lib = WasmLibrary(config, str(tmp_path), ModuleCache(str(tmp_path / "c")), prefetch=False)
    with pytest.raises(LibraryError) as info:
        lib.check("f0", [], CallContext(str(tmp_path)))
    assert info.value.code == "E607" and "max_compile_memory_mb = 80" in info.value.message


def test_loading_one_module_never_waits_for_another(tmp_path: Path) -> None:
    cache = ModuleCache(str(tmp_path / "c"))
    engine = shared_engine()
    a, b = (wasmtime.wat2wasm(W.answer(f'"{x}"')) for x in "ab")
    key_b = cache.key_for(engine, hashlib.sha256(b).hexdigest())
    done = threading.Event()
    with cache._key_lock(key_b):  # as if B were being compiled right now
        worker = threading.Thread(target=lambda: (cache.get_or_compile(engine, a, "a.wasm"), done.set()))
        worker.start()
        worker.join(timeout=60)
        assert done.is_set()
