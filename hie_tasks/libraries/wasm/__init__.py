"""WASM plugins: wasmtime engine, compiled-module cache, capability sandbox, the Library adapter.

Contract: wasm-abi.md (ABI 1). Public entry points: `library.WasmLibrary`, `modcache.ModuleCache`,
`inspect.inspect_wasm`; CLI pieces live in `hie_tasks.cli.cmd_cache` / `cmd_inspect`.

Error codes (LibraryError.code); every message names the library, the .wasm path and (for calls) the function:
  E600 the .wasm file cannot be read              E610 the call trapped (unreachable, stack overflow, proc_exit…)
  E601 not a valid WebAssembly module (truncated)  E611 the call exceeded timeout_ms
  E602 an import outside wasi_snapshot_preview1,   E612 memory limit (max_memory_mb) reached, or alloc gave a
       or a WASI function wasmtime does not have        pointer where the request does not fit
  E603 a required export missing or mistyped       E613 answer ptr/len outside linear memory
  E604 hielements_abi_version() is not 1           E614 answer longer than max_output_mb (checked before reading)
  E605 a trap while loading (abi version, getters) E615 answer not UTF-8 / not JSON
                                                   E616 library_call answered {"Error": msg} (message = msg)
                                                   E617 the plugin lacks library_call/library_check for this use
                                                   E618 type = "component" names a file that is not one
  E606 a capabilities.write directory resolves outside the workspace or into a protected place (sandbox.py)
  E607 compiling a large module exceeded compile_timeout_ms / max_compile_memory_mb (compiler.py)
  Shared with external plugins: E508 an answer nested too deeply, E509 not a check result (or more than one
  outcome), E540 library disabled after consecutive timeouts/crashes, E541 the run's --timeout was reached
  (libraries/limits.py).
Components (the `hielements:plugin` WIT world, Python plugins) are served by `component.ComponentLibrary`
with the same sandbox, limits, cache and codes.

Timeouts use epoch interruption, not fuel. Measured with wasmtime-py 50 on a 200M-iteration loop: no limit
64 ms, epoch 231 ms, fuel 199 ms — about the same overhead on a tight loop, and ≈1 µs per call for either
(setting a deadline vs setting fuel). Epoch wins because it is wall-clock time, which is what `timeout_ms`
means; fuel would need a guessed instructions-per-ms rate. A ticker thread advances the epoch every 5 ms while
calls run (engine.EpochTicker).

Per-call cost (bench/wasm_bench.py, trivial plugin, shared 2-core machine, so expect ±50%): public wasmtime
API ≈ 310 µs; fast path (fastcall.py) without pooling ≈ 107 µs; with the pooling allocator ≈ 35 µs for the
raw store+instantiate+alloc+write+call+read, ≈ 15–30 µs of which is store+WASI+instantiate. Whole
`WasmLibrary.check` (JSON encode/decode, sandbox config, ticker, slots) measured ≈ 70–140 µs median depending
on machine load. Module compile ≈ 1–110 ms (size dependent) vs cached deserialize ≈ 0.08–0.25 ms.

A real C plugin (plugins/examples/sample, C SDK, fs = "read"): `always_pass`, a check that does no work,
cost ≈ 186–250 µs, ≈ 105 µs more than the trivial plugin in the same run (p10 174 vs 78 µs). Where it went,
per call: libc's allocator (zig's wasi libc) takes a fresh 64 KiB page by memory.grow for every size class
it serves, so parsing the request and writing "{"Pass":null}" grew memory 5 times — each a grow, page
faults and the reset when the store drops (≈ 35 µs, 5 of the call's 10 page faults); zig's 16 MiB default
stack puts data and heap 16 MiB into memory, so every instance maps a 16 MiB memory, resets it on drop and
its stack/data/heap pages all lie outside the pages kept resident (≈ 25 µs, mostly in the store drop).
The code itself is cheap (fuel: _initialize 55 instructions, ≈ 1 000 with a preopen; library_check ≈ 6 000).
Fixed in the SDK (an allocator carving size classes from one region inside the initial memory: no growth
for small calls), the build (64 KiB stack, `plugins_dev.build.STACK_SIZE`) and here (KEEP_RESIDENT 128 KiB
covers that stack's top, the data and the first heap blocks): 10 → 2 page faults; per call p10 173 → 111
µs, p25 206 → 121 µs, median 252 → 174 µs on a busy machine (the trivial plugin's: 74 / 78 / 115 µs in the
same run). bench/wasm_bench.py, two busy runs: steady median C sample 125 / 133 µs vs trivial 101 / 134
µs; the C sample's first call of a run 3.7–4.0 ms with nothing to overlap, 0.73 ms prefetched.
What remains above the trivial plugin (≈ 35 µs) is inherent to a WASI C module: _initialize's wasi-libc
constructors, whose preopen enumeration (zig patches it to run eagerly) makes the instance's first WASI
calls (≈ 8–10 µs), the host opening the preopened directory (≈ 3–5 µs, an open(2) per WasiConfig), the
ABI's two dealloc calls (≈ 5 µs), real request parsing and dispatch (≈ 6 µs), dropping the WASI context.
Sandbox output capture costs nothing here (the sample plugin does not import fd_write); for plugins that
do, the first WASI call with custom stdout/stderr streams costs ≈ 15–25 µs more.

First call of a run (fresh process, cached module; medians of 7–9 processes, machine load ≈1.6). What a
run pays once, in sequence: the engine ≈ 1.0–1.1 ms (pooling reservations ≈ 0.5 of it — three cgroup
CPU-count probes inside wasmtime, not tunable — plus the WASI linker ≈ 0.2), the cached load 0.9 ms
(trivial) / 1.7 ms (74 KB C plugin: read + verify + deserialize a 254 KB artifact), the process's first
instance and call ≈ 0.8 ms (wasmtime's memory-image setup and cold code paths). Removed from that path:
the ABI walk over imports/exports (0.4–2 ms; now stored as "facts" with the cached module, as is the
hielements_abi_version() answer, so a hit runs no instance just to load), `Path.glob` in the cache key
(0.35 ms), `Thread.start()`'s start handshake for the epoch ticker (0.2 ms idle, up to ms when busy), the
pooled async stacks nobody uses (64 guard-page mprotects). Before: engine+load+first call 4.0 ms (trivial)
/ 6.2 ms (C plugin); after, sequentially: 2.8 / 3.5 ms. What is left is native and one-time, so
`WasmLibrary` starts it in the background when constructed (registry build) and it overlaps the run's
scope evaluation and fingerprinting: the first call then measured 0.38 ms (trivial, 5 ms of run work in
between) / 0.57 ms (20 ms), 0.88–1.0 ms for the C plugin; in a real `hie-tasks run` of the C sample plugin
(≈ 50 ms from registry to first check) 0.58–0.93 ms, was 6.1–9.6 ms.
"""
