"""Fixtures for the WASM host tests: plugins built from WAT (tiny, hostile) and from C (real WASI I/O)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from hie_tasks.config import Capabilities, WasmLibraryConfig
from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.wasm.library import WasmLibrary
from hie_tasks.libraries.wasm.modcache import ModuleCache

HERE = Path(__file__).parent
# --import-mode=importlib does not put test directories on sys.path; the WAT sources live next door.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

MakeLib = Callable[..., WasmLibrary]


@pytest.fixture(scope="session")
def capsprobe_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cbuild") / "capsprobe.wasm"
    cmd = [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-s",
           str(HERE / "capsprobe.c"), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"zig cc unavailable: {proc.stderr[-500:]}")
    return out


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "inside.txt").write_text("inside content\n")
    return ws


@pytest.fixture
def cache(tmp_path: Path) -> ModuleCache:
    return ModuleCache(str(tmp_path / "modcache"))


@pytest.fixture
def make_lib(tmp_path: Path, workspace: Path, cache: ModuleCache) -> MakeLib:
    counter = [0]

    def make(
        source: str | Path, caps: Capabilities | None = None, module_cache: ModuleCache | None = None, **limits: int
    ) -> WasmLibrary:
        if isinstance(source, Path):
            path = source
        else:
            counter[0] += 1
            path = tmp_path / f"plugin{counter[0]}.wasm"
            path.write_bytes(wasmtime.wat2wasm(source))
        config = WasmLibraryConfig(name="plug", path=str(path), capabilities=caps or Capabilities(), **limits)
        return WasmLibrary(config, str(workspace), module_cache or cache)

    return make


@pytest.fixture
def ctx(workspace: Path) -> CallContext:
    return CallContext(os.fspath(workspace))
