"""The per-call fast path through wasmtime's C API bindings (`wasmtime._bindings`, private to wasmtime-py).

This is the only module that touches those bindings; pyproject pins `wasmtime>=50,<51` for it, and
tests/wasm compare its answers with the public API's. Why it exists: the public API costs ≈ 310 µs per call
on a trivial plugin (`Instance.exports()` wraps every export, `Func.__call__` re-derives the function type
on each call, `Store` and `Memory` wrappers convert on every access). Here one call is a raw store,
`wasmtime_instance_pre_instantiate` from a module linked once, `wasmtime_instance_export_get` for just
the exports used, `wasmtime_func_call_unchecked` with a reused argument array and raw memmove/string_at
on linear memory: ≈ 35 µs with the engine's pooling allocator (≈ 107 µs without it).
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable
from ctypes import byref
from typing import TYPE_CHECKING, Any

import wasmtime
from wasmtime import _bindings as ffi

from hie_tasks.libraries.wasm.abi import ReturnStyle

if TYPE_CHECKING:
    from hie_tasks.libraries.wasm.engine import WasmEngine

_U32 = 0xFFFF_FFFF
_U64 = 0xFFFF_FFFF_FFFF_FFFF
_NO_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
_TrapPtr = ctypes.POINTER(ffi.wasm_trap_t)
_WASM32_MAX_MEMORY = 4 * 1024 * 1024 * 1024


def enable_pooling(config: wasmtime.Config, live_instances: int, keep_resident: int) -> None:
    # The pooling allocator reuses instance slots instead of mmap/munmap per instance: measured ~35 µs
    # per call instead of ~107 µs with on-demand allocation. It reserves address space up front
    # (slots × 4 GiB + guards), so it is only used when RLIMIT_AS does not forbid that.
    pool = ffi.wasmtime_pooling_allocation_config_new()
    try:
        ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, live_instances)
        ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pool, live_instances)
        ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, live_instances)
        # Stacks are pooled only for async (fiber) stores, which this host never creates; reserving 64
        # of them cost 64 guard-page mprotects, ≈0.15 ms of every run's engine start.
        ffi.wasmtime_pooling_allocation_config_total_stacks_set(pool, 0)
        # Per-library `max_memory_mb` is enforced by the store limiter; the slot must fit any wasm32 memory.
        ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pool, _WASM32_MAX_MEMORY)
        ffi.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, keep_resident)
        ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)
    finally:
        ffi.wasmtime_pooling_allocation_config_delete(pool)


class CallTrap(Exception):
    """A call (or instantiation) did not return normally: a trap, a timeout, a WASI exit, a link error."""

    def __init__(self, reason: str, trap_code: wasmtime.TrapCode | None = None, exit_code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.trap_code = trap_code
        self.exit_code = exit_code


def _raise_failure(error: Any, trap: Any) -> None:
    """Turn the C API's error/trap out-values into one CallTrap, freeing both."""
    if trap:
        trap_obj = wasmtime.Trap._from_ptr(trap)
        raise CallTrap(trap_obj.message, trap_code=trap_obj.trap_code)
    if error:
        err = wasmtime.WasmtimeError._from_ptr(error)
        code = err.code if isinstance(err, wasmtime.ExitTrap) else None
        raise CallTrap(str(err), exit_code=code)


class PreparedModule:
    """A module linked against WASI once; every call instantiates from this cheaply."""

    def __init__(self, wasm_engine: WasmEngine, module: wasmtime.Module) -> None:
        self.wasm_engine = wasm_engine
        self.module = module
        # Raises WasmtimeError when an import is not provided by the linker (e.g. an unknown WASI name).
        self.pre = wasm_engine.linker.instantiate_pre(module)


# Same C functions, re-declared with a `void *` result so the memory base arrives as a plain int instead
# of a POINTER(c_uint8) that needs a ctypes.cast per access (≈2.5 µs each).
def _redeclare(func: Any, restype: Any) -> Any:
    address = ctypes.cast(func, ctypes.c_void_p).value
    assert address is not None
    return ctypes.CFUNCTYPE(restype, ctypes.c_void_p, ctypes.c_void_p)(address)


_memory_data = _redeclare(ffi._wasmtime_memory_data, ctypes.c_void_p)
_memory_data_size = _redeclare(ffi._wasmtime_memory_data_size, ctypes.c_size_t)
_func_call_unchecked = ffi._wasmtime_func_call_unchecked
_instance_export_get = ffi._wasmtime_instance_export_get


# Plugin stdout/stderr sinks by key. wasmtime-py's public `stdout_custom` registers a finalizer that calls
# back into Python when the store drops its WASI context, and allocates per stream: ≈20 µs per instance.
# Here the callback is one static C function, the finalizer is NULL and `FreshInstance.close` unregisters.
_OUTPUT_SINKS: dict[int, Callable[[bytes], int]] = {}
_sink_keys = itertools.count(1)


def _write_output(key: int | None, data: Any, size: int) -> int:
    try:
        sink = _OUTPUT_SINKS.get(key or 0)
        return sink(ctypes.string_at(data, size)) if sink is not None else size
    except Exception:
        # An exception must not unwind into wasmtime; dropping the text is the lesser evil.
        return size


_on_output = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.c_void_p, ctypes.POINTER(ctypes.c_ubyte), ctypes.c_size_t)(
    _write_output
)
_NULL_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))


class FreshInstance:
    """One store + one instance for one call. Always `close()` it (or use `with`)."""

    def __init__(
        self,
        prepared: PreparedModule,
        wasi: wasmtime.WasiConfig,
        memory_limit_bytes: int,
        deadline_ticks: int,
        output: Callable[[bytes], int] | None = None,
    ) -> None:
        self._sink_key = 0
        self._store: Any = ffi.wasmtime_store_new(prepared.wasm_engine.engine.ptr(), None, _NO_FINALIZER)
        self._ctx: Any = ffi.wasmtime_store_context(self._store)
        ffi.wasmtime_store_limiter(self._store, memory_limit_bytes, -1, -1, -1, -1)
        ffi.wasmtime_context_set_epoch_deadline(self._ctx, deadline_ticks)
        self.memory_limit_bytes = memory_limit_bytes
        # Reused for every call on this instance: ABI functions take at most two i32 and return at most two.
        self._vals = (ffi.wasmtime_val_raw * 2)()
        self._trap = _TrapPtr()
        self._trap_ref = byref(self._trap)
        self._instance = ffi.wasmtime_instance_t()
        self._instance_ref = byref(self._instance)
        self._item = ffi.wasmtime_extern_t()
        self._item_ref = byref(self._item)
        self._memory_ref: Any = None
        try:
            if output is not None:
                self._sink_key = next(_sink_keys)
                _OUTPUT_SINKS[self._sink_key] = output
                ffi.wasi_config_set_stdout_custom(wasi.ptr(), _on_output, self._sink_key, _NULL_FINALIZER)
                ffi.wasi_config_set_stderr_custom(wasi.ptr(), _on_output, self._sink_key, _NULL_FINALIZER)
            error = ffi.wasmtime_context_set_wasi(self._ctx, wasi._consume())
            _raise_failure(error, None)
            error = ffi.wasmtime_instance_pre_instantiate(
                prepared.pre.ptr(), self._ctx, self._instance_ref, self._trap_ref
            )
            _raise_failure(error, self._trap)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> FreshInstance:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._store is not None:
            ffi.wasmtime_store_delete(self._store)
            self._store = None
        if self._sink_key:
            _OUTPUT_SINKS.pop(self._sink_key, None)
            self._sink_key = 0

    def func(self, name: bytes) -> Any:
        """A reference to the exported function `name` (the ABI checker verified its type), or None."""
        if not _instance_export_get(self._ctx, self._instance_ref, name, len(name), self._item_ref):
            return None
        return byref(ffi.wasmtime_func_t.from_buffer_copy(self._item.of.func))

    def _mem(self) -> Any:
        if self._memory_ref is None:
            _instance_export_get(self._ctx, self._instance_ref, b"memory", 6, self._item_ref)
            self._memory_ref = byref(ffi.wasmtime_memory_t.from_buffer_copy(self._item.of.memory))
        return self._memory_ref

    def _invoke(self, func: Any) -> None:
        error = _func_call_unchecked(self._ctx, func, self._vals, 2, self._trap_ref)
        if error or self._trap:
            _raise_failure(error, self._trap)

    def call0(self, func: Any) -> None:
        self._invoke(func)

    def call_i32(self, func: Any, arg: int | None = None) -> int:
        """Call a function with no or one i32 argument returning one i32 (alloc, hielements_abi_version)."""
        if arg is not None:
            self._vals[0].i32 = arg
        self._invoke(func)
        return self._vals[0].i32

    def call_void(self, func: Any, a: int, b: int) -> None:
        self._vals[0].i32 = a
        self._vals[1].i32 = b
        self._invoke(func)

    def call_ptr_len(self, func: Any, style: ReturnStyle, args: tuple[int, int] | None = None) -> tuple[int, int]:
        """Call an ABI function answering (ptr, len), in either return style; both unsigned 32-bit."""
        if args is not None:
            self._vals[0].i32, self._vals[1].i32 = args
        self._invoke(func)
        if style is ReturnStyle.PACKED:
            packed = self._vals[0].i64 & _U64
            return packed >> 32, packed & _U32
        return self._vals[0].i32 & _U32, self._vals[1].i32 & _U32

    def memory_size(self) -> int:
        return int(_memory_data_size(self._ctx, self._mem()))

    def write(self, ptr: int, data: bytes) -> bool:
        """Copy `data` to `ptr`; False (nothing written) when it would not fit inside memory."""
        mem = self._mem()
        if ptr + len(data) > _memory_data_size(self._ctx, mem):
            return False
        ctypes.memmove(_memory_data(self._ctx, mem) + ptr, data, len(data))
        return True

    def read(self, ptr: int, length: int) -> bytes | None:
        """`length` bytes at `ptr`, or None when that range is not inside memory."""
        mem = self._mem()
        if ptr + length > _memory_data_size(self._ctx, mem):
            return None
        return ctypes.string_at(_memory_data(self._ctx, mem) + ptr, length)
