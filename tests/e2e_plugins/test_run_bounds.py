"""Run-level bounds: a plugin that hangs on every call is disabled after 3 timeouts; `--timeout` ends a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import wasmtime

from hie_tasks.config import WasmLibraryConfig
from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.limits import cap_text
from hie_tasks.libraries.wasm.library import WasmLibrary
from hie_tasks.libraries.wasm.modcache import ModuleCache
from hie_tasks.model.errors import LibraryError

ROOT = Path(__file__).resolve().parents[2]
CHECKS = 100

HANGING_WAT = """(module (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "library_check") (param i32 i32) (result i64) (loop $forever (br $forever)) (i64.const 0)))"""

#: An external plugin that logs every request, then never answers.
HANGING_PLUGIN = """\
import os, sys
log = sys.argv[1]
for line in sys.stdin:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, b"call\\n")
    os.close(fd)
    while True:
        pass
"""


def _workspace(tmp_path: Path, toml: str) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "hielements.toml").write_text(textwrap.dedent(toml))
    (ws / "hang.wasm").write_bytes(wasmtime.wat2wasm(HANGING_WAT))
    checks = "\n".join(f"    check hang.c{i}(r)" for i in range(CHECKS))
    (ws / "spec.hie").write_text(f"import hang\nelement e:\n    scope r = files.file_selector('spec.hie')\n{checks}\n")
    return ws


def _run(tmp_path: Path, ws: Path, *extra: str) -> tuple[dict[str, object], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "hie_tasks", "run", str(ws / "spec.hie"), "-w", str(ws), "-f", "json", "-j", "2",
         "--module-cache", str(tmp_path / "modules"), "--no-cache", *extra],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout), time.monotonic() - started


def test_hanging_wasm_plugin_is_disabled_after_three_timeouts(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, '[libraries.hang]\npath = "hang.wasm"\ntimeout_ms = 300\n')
    report, took = _run(tmp_path, ws)
    results = report["results"]
    assert isinstance(results, list) and len(results) == CHECKS
    assert all(r["status"] == "error" for r in results)
    disabled = [r for r in results if "disabled after 3 consecutive timeouts" in r["message"]]
    timed_out = [r for r in results if r not in disabled and "timed out after 300 ms" in r["message"]]
    # -j 2: the calls in flight when the third timeout lands may time out too (at most one more).
    assert 3 <= len(timed_out) <= 4 and len(disabled) == CHECKS - len(timed_out)
    assert took < 60  # generous: 100 × 300 ms would be 30 s of timeouts alone, plus start-up


def test_hanging_external_plugin_gets_three_calls(tmp_path: Path) -> None:
    script = tmp_path / "hang.py"
    script.write_text(HANGING_PLUGIN)
    log = tmp_path / "calls.log"
    ws = _workspace(tmp_path, f"""\
        [libraries.hang]
        executable = "{sys.executable}"
        args = ["{script}", "{log}"]
        timeout_ms = 300
        """)
    report, _ = _run(tmp_path, ws, "-j", "1")
    results = report["results"]
    assert isinstance(results, list) and len(results) == CHECKS
    assert log.read_text().count("call") == 3
    assert sum("disabled after 3 consecutive timeouts" in r["message"] for r in results) == CHECKS - 3


def test_run_timeout_bounds_the_whole_run(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, """\
        [libraries.hang]
        path = "hang.wasm"
        timeout_ms = 60000
        max_consecutive_failures = 1000
        """)
    report, took = _run(tmp_path, ws, "--timeout", "1.5")
    results = report["results"]
    assert isinstance(results, list) and len(results) == CHECKS
    assert sum("--timeout of 1.5 s was reached" in r["message"] for r in results) >= CHECKS - 2
    assert took < 60  # without --timeout: 100 calls × 60 s


def test_library_level_breaker_counts_calls(tmp_path: Path) -> None:
    path = tmp_path / "hang.wasm"
    path.write_bytes(wasmtime.wat2wasm(HANGING_WAT))
    config = WasmLibraryConfig("hang", str(path), timeout_ms=50, max_consecutive_failures=2)
    lib = WasmLibrary(config, str(tmp_path), ModuleCache(str(tmp_path / "c")), prefetch=False)
    codes = []
    for _ in range(20):
        try:
            lib.check("f", [], CallContext(str(tmp_path)))
        except LibraryError as exc:
            codes.append(exc.code)
    assert codes == ["E611", "E611"] + ["E540"] * 18 and lib.breaker.calls == 2


def test_cap_text_cuts_and_says_so() -> None:
    big = "é" * (1024 * 1024)
    cut = cap_text(big, 64)
    assert len(cut.encode()) < 64 * 1024 + 200 and "message cut: 2097152 bytes" in cut
    assert cap_text("short", 64) == "short"
