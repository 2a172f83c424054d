"""`cache` and `inspect` CLI pieces, run as real subprocesses through a tiny argparse driver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import wasmtime
import wat_plugins as W

DRIVER = """
import argparse, sys
from hie_tasks.cli import cmd_cache, cmd_inspect
p = argparse.ArgumentParser(prog="hie-tasks")
sub = p.add_subparsers(dest="command", required=True)
cmd_cache.add_parser(sub)
cmd_inspect.add_parser(sub)
a = p.parse_args()
sys.exit(a.func(a))
"""
ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env_cache: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "HIE_TASKS_MODULE_CACHE": str(env_cache), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", DRIVER, *args], capture_output=True, text=True, env=env, timeout=120)


def test_inspect_and_cache(tmp_path: Path) -> None:
    good = tmp_path / "good.wasm"
    meta = '{"name": "g", "version": "1", "functions": [], "checks": ["c"]}'
    getter = f'(data (i32.const 1024) "{W._escape(meta)}") (func (export "library_metadata") (result i64) (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const {len(meta)})))'
    good.write_bytes(wasmtime.wat2wasm(W.answer('"pass"', getter)))
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(wasmtime.wat2wasm(W.UNKNOWN_IMPORT))
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\x00asm junk")
    cache = tmp_path / "cache"

    ok = _run("inspect", str(good), "--format", "json", env_cache=cache)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["satisfies_abi"] and report["metadata"]["checks"] == ["c"]
    assert {"name": "alloc", "type": "function (i32) -> i32"} in report["exports"]
    not_ok = _run("inspect", str(bad), env_cache=cache)
    assert not_ok.returncode == 1 and "env.sneaky" in not_ok.stdout
    assert _run("inspect", str(junk), env_cache=cache).returncode == 2
    assert _run("inspect", str(tmp_path / "none.wasm"), env_cache=cache).returncode == 2

    info = _run("cache", "info", "--format", "json", env_cache=cache)
    entries = json.loads(info.stdout)["entries"]
    assert {e["source_path"] for e in entries} == {str(good), str(bad)}
    other = _run("cache", "info", "--format", "json", "--cache-dir", str(tmp_path / "other"), env_cache=cache)
    assert json.loads(other.stdout)["entries"] == []
    assert _run("cache", "prune", "--max-size-mb", "0", env_cache=cache).returncode == 0
    assert json.loads(_run("cache", "info", "--format", "json", env_cache=cache).stdout)["entries"] == []
    _run("inspect", str(good), env_cache=cache)
    cleaned = _run("cache", "clean", env_cache=cache)
    assert cleaned.returncode == 0 and "removed 1" in cleaned.stdout
