"""The one wasmtime Engine of the process, its WASI linker, and the epoch ticker that enforces timeouts.

Every WASM library shares this engine: compiled modules are only valid for the engine (settings) that
compiled them, the linker with WASI is built once instead of per module, and a single ticker thread serves
every in-flight call's deadline.
"""

from __future__ import annotations

import _thread
import resource
import threading
import time

import wasmtime

from hie_tasks.libraries.wasm.fastcall import enable_pooling

#: How often the epoch advances while a call is running; a timeout is accurate to about this much.
EPOCH_TICK_MS = 5
#: Upper bound of simultaneously live instances (pooling allocator slots; also a semaphore so a
#: thread pool larger than this waits instead of failing to instantiate).
MAX_LIVE_INSTANCES = 64
#: Wasm stack a plugin may use; deep recursion beyond it is a stack-overflow trap, not a host crash.
MAX_WASM_STACK = 1024 * 1024
#: Bytes of each pooled linear memory kept mapped between instances: rewriting them is cheaper than
#: taking fresh page faults on every call (wasmtime resets them to the module's initial image). 128 KiB
#: covers what a small C plugin touches per call — its 64 KiB stack's top, its data and the first heap
#: blocks right above (plugins_dev.build.STACK_SIZE): measured 4 → 2 page faults and ≈ 10 µs less per
#: call of the C sample plugin, no change for the trivial WAT plugin (2 pages, so 128 KiB either way).
KEEP_RESIDENT = 128 * 1024


def _address_space_unlimited() -> bool:
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return soft == resource.RLIM_INFINITY


class EpochTicker:
    """Advances the engine epoch every EPOCH_TICK_MS while calls are running.

    Entering and leaving a call only touches a counter under a plain lock: waking the thread per call
    (an Event set/clear each time) measured ≈50 µs per call. The thread parks itself after
    IDLE_PARK_S without calls, so an idle watch-mode process does not tick 200 times a second.

    The thread is started with `_thread.start_new_thread`, not `threading.Thread.start()`: the latter
    blocks until the new thread has run (it needs the GIL and a CPU), which measured 0.2–0.4 ms on an
    idle machine and several ms on a busy one, all of it inside the first call of a run. Nothing here
    needs the handshake: the first tick is EPOCH_TICK_MS away anyway, and deadline_ticks() adds one.
    """

    IDLE_PARK_S = 1.0

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._active = 0
        self._last_exit = 0.0
        self._parked = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._started = False

    def enter(self) -> None:
        with self._lock:
            self._active += 1
            if self._parked:
                self._parked = False
                self._wake.set()
            if not self._started:
                self._started = True
                # Like a daemon thread: never joined, dies with the process.
                _thread.start_new_thread(self._run, ())

    def exit(self) -> None:
        with self._lock:
            self._active -= 1
            self._last_exit = time.monotonic()

    def _run(self) -> None:
        tick = EPOCH_TICK_MS / 1000
        while True:
            time.sleep(tick)
            self._engine.increment_epoch()
            with self._lock:
                park = self._active == 0 and time.monotonic() - self._last_exit > self.IDLE_PARK_S
                if park:
                    self._parked = True
                    self._wake.clear()
            if park:
                self._wake.wait()

    @staticmethod
    def deadline_ticks(timeout_ms: int) -> int:
        # +1 because the first tick may come right after the deadline is set.
        return max(1, -(-timeout_ms // EPOCH_TICK_MS)) + 1


class WasmEngine:
    """Engine + WASI linker + ticker + instance slots. Use `shared_engine()`; tests may build their own."""

    def __init__(self, pooling: bool | None = None) -> None:
        config = wasmtime.Config()
        # Epoch interruption, not fuel: both cost about the same on a tight loop (measured 231 vs 199 ms
        # for 200M iterations, 64 ms without either), but only the epoch is wall-clock time, which is what
        # `timeout_ms` promises; fuel would also need a made-up instructions-per-millisecond rate.
        config.epoch_interruption = True
        config.max_wasm_stack = MAX_WASM_STACK
        use_pooling = _address_space_unlimited() if pooling is None else pooling
        if use_pooling:
            enable_pooling(config, MAX_LIVE_INSTANCES, KEEP_RESIDENT)
        self.pooling = use_pooling
        self.engine = wasmtime.Engine(config)
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.ticker = EpochTicker(self.engine)
        self.slots = threading.BoundedSemaphore(MAX_LIVE_INSTANCES)
        #: Everything that changes generated code, for the compiled-module cache key. Pooling is listed
        #: because it changes memory reservation settings a serialized module is checked against.
        self.settings = (
            f"epoch_interruption=1;fuel=0;max_wasm_stack={MAX_WASM_STACK};pooling={int(use_pooling)};"
            f"pulley={int(self.engine.is_pulley())}"
        )


_shared: WasmEngine | None = None
_shared_lock = threading.Lock()


def shared_engine() -> WasmEngine:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WasmEngine()
        return _shared
