"""`plugins new --lang python` → `plugins build` → the template's own example.hie passes; and the C
template's example.hie (every template ships one with a hielements.toml next to it)."""

from __future__ import annotations

import os
from pathlib import Path

from hie_tasks.libraries.wasm.modcache import ModuleCache
from tests.cli.conftest import run_cli
from tests.components.conftest import needs_componentize


def _new_and_build(tmp_path: Path, name: str, lang: str) -> Path:
    r = run_cli("plugins", "new", name, "--lang", lang, "-d", str(tmp_path))
    assert r.code == 0, r.err
    folder = tmp_path / name
    assert {"example.hie", "hielements.toml"} <= set(os.listdir(folder))
    assert "my_plugin" not in (folder / "example.hie").read_text()
    r = run_cli("plugins", "build", str(folder))
    assert r.code == 0, r.out + r.err
    return folder


@needs_componentize
def test_python_template_builds_prewarms_and_its_example_passes(tmp_path: Path) -> None:
    folder = _new_and_build(tmp_path, "layers", "python")
    wasm = folder / "build" / "layers.wasm"
    assert wasm.read_bytes()[:8] == b"\0asm\r\0\x01\0"
    # the build compiled the component into the (suite's) module cache
    assert str(wasm) in {e.source_path for e in ModuleCache().info()}
    r = run_cli("check", str(folder / "example.hie"), "-w", str(folder))
    assert r.code == 0, r.out + r.err
    assert "PASS layers_sources :: layers.min_files(sources, 1)" in r.out
    assert "compiling" not in r.err  # pre-warmed: no compile in the run
    # the author's first edit: a failing check, a clean Fail verdict
    spec = (folder / "example.hie").read_text().replace("min_files(sources, 1)", "min_files(sources, 99)")
    (folder / "example.hie").write_text(spec)
    r = run_cli("check", str(folder / "example.hie"), "-w", str(folder), "--no-cache")
    assert r.code == 1 and "Expected at least 99 files, found" in r.out


def test_c_template_example_passes(tmp_path: Path) -> None:
    folder = _new_and_build(tmp_path, "counter", "c")
    r = run_cli("check", str(folder / "example.hie"), "-w", str(folder))
    assert r.code == 0, r.out + r.err
    assert "Summary: 1 total, 1 passed" in r.out


def test_zig_template_example_passes(tmp_path: Path) -> None:
    folder = _new_and_build(tmp_path, "zcount", "zig")
    r = run_cli("check", str(folder / "example.hie"), "-w", str(folder))
    assert r.code == 0, r.out + r.err
    assert "Summary: 2 total, 2 passed" in r.out
