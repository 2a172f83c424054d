"""Compiling a module within bounds: a large module is compiled in a child process limited in time and memory.

wasmtime cannot interrupt a compilation or cap what it allocates, and one hostile or just huge module (a 2 MB
module took 30 s and 1 GB) would stall the run before its first check. Modules below IN_PROCESS_BYTES compile
in milliseconds and stay in-process (a child costs ≈ 0.2 s of interpreter start-up); larger ones compile in
`python -m hie_tasks.libraries.wasm.compiler`, with RLIMIT_DATA (heap and private writable mappings — not
RLIMIT_AS, which the pooling allocator's address-space reservations would trip) and a wall-clock deadline,
and send the serialized module back over a pipe. The child's engine has the parent's settings, so the bytes
deserialize as the parent's own compilation would; they come from our own child, never from disk.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

import wasmtime

from hie_tasks.libraries.wasm.engine import WasmEngine
from hie_tasks.model.errors import LibraryError

#: Modules smaller than this compile in-process (measured ≈ 1–110 ms for the plugins we know).
IN_PROCESS_BYTES = 256 * 1024
_MIB = 1024 * 1024


@dataclass(frozen=True)
class CompileLimits:
    timeout_ms: int = 60_000
    max_memory_mb: int = 2048


def _limit_memory(mb: int) -> None:
    limit = mb * _MIB
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def compile_module(engine: WasmEngine, wasm_bytes: bytes | bytearray, label: str,
                   limits: CompileLimits | None) -> wasmtime.Module:
    """The compiled module. Raises wasmtime.WasmtimeError for an invalid module, LibraryError E607 when a
    bounded compilation runs out of time or memory."""
    if limits is None or len(wasm_bytes) < IN_PROCESS_BYTES or os.name != "posix":
        return wasmtime.Module(engine.engine, bytes(wasm_bytes))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    started = time.monotonic()
    try:
        proc = subprocess.run(
            # The child limits itself (not preexec_fn, which is unsafe in a threaded parent).
            [sys.executable, "-m", "hie_tasks.libraries.wasm.compiler", str(int(engine.pooling)),
             str(limits.max_memory_mb)],
            input=bytes(wasm_bytes), capture_output=True, timeout=limits.timeout_ms / 1000, env=env,
        )
    except subprocess.TimeoutExpired:
        raise LibraryError(
            "E607", f"{label}: compiling the module took longer than {limits.timeout_ms} ms "
            "(compile_timeout_ms in hielements.toml); the module is too large or hostile — raise the limit "
            "if you trust it"
        ) from None
    if proc.returncode == 2:
        raise wasmtime.WasmtimeError(proc.stderr.decode("utf-8", "replace").strip() or "invalid module")
    if proc.returncode != 0:
        took = (time.monotonic() - started) * 1000
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise LibraryError(
            "E607", f"{label}: compiling the module failed after {took:.0f} ms, most likely beyond "
            f"max_compile_memory_mb = {limits.max_memory_mb} ({tail[0]}); raise the limit if you trust the module"
        )
    return wasmtime.Module.deserialize(engine.engine, proc.stdout)


def _main() -> int:
    data = sys.stdin.buffer.read()
    _limit_memory(int(sys.argv[2]))
    engine = WasmEngine(pooling=sys.argv[1] == "1")
    try:
        # Validation first, so that status 2 means "not a valid module" and never "ran out of memory".
        wasmtime.Module.validate(engine.engine, data)
    except wasmtime.WasmtimeError as exc:
        sys.stderr.write(str(exc))
        return 2
    try:
        module = wasmtime.Module(engine.engine, data)
    except wasmtime.WasmtimeError as exc:
        sys.stderr.write(str(exc))
        return 3
    sys.stdout.buffer.write(bytes(module.serialize()))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
